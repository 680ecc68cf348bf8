"""Bad input that only the cloud can reveal (issue #8), through `pulumi up` and `bcsi plan` of the sandbox stack:
a corrupt solution zip, a wrong tenant, a wrong or expired client secret, an unreachable endpoint, a package
older than the installed solution. Each names the problem in one clear line, shows no Python traceback, and
writes nothing to the sandbox (its metrics count every state change).

`bcsi plan` exits 1; the Pulumi CLI exits non-zero (255) on any failed update, which is its convention.
Settings-only mistakes are in tests/unit/provisioning/test_bad_input.py.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess

import pytest
import requests

from tests.engine.test_reliability import assert_user_error, console, live_state, sandbox_stack
from tests.engine.test_sandbox_stack import edit_stack
from tests.engine.test_solution_operations import to_upgrade
from tests.enginekit import VENV

pytestmark = pytest.mark.engine

PIPELINE_APP = "0c1c9a1e-6d1b-4a43-9a35-4f1d1f2b7c10"
EXPIRED_SECRET = "expired-pipeline-secret-2020"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def variant(cloud, directory, **changes) -> str:
    """A sandbox dir whose endpoints.json differs from the real one (same CA file): what the stack signs in with."""
    endpoints = dict(cloud.endpoints, **changes)
    directory.mkdir(parents=True)
    (directory / "endpoints.json").write_text(json.dumps(endpoints))
    return str(directory)


def moved_to_port(cloud, port: int) -> dict:
    old = f"127.0.0.1:{cloud.port}"
    return {k: v.replace(old, f"127.0.0.1:{port}") for k, v in cloud.endpoints.items()
            if isinstance(v, str) and old in v}


def add_expired_secret(cloud) -> None:
    response = requests.post(cloud.endpoints["admin"] + f"/apps/{PIPELINE_APP}/credentials", verify=cloud.ca_file,
                             timeout=10, json={"passwordCredential": {
                                 "secret": EXPIRED_SECRET, "startDateTime": "2020-01-01T00:00:00Z",
                                 "endDateTime": "2020-06-30T00:00:00Z"}})
    assert response.status_code == 201, response.text


def plan(stack) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "bcsi"), "plan", "--stack", "sandbox"], cwd=stack.project_dir,
                          env=stack.env, capture_output=True, text=True, timeout=120)


def test_cloud_side_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    add_expired_secret(cloud)
    stack = sandbox_stack(tmp_path, cloud)
    real_dir = stack.env["BCSI_SANDBOX_DIR"]
    signs_in = {
        "wrong secret": (variant(cloud, tmp_path / "wrong-secret", client_secret="not-the-secret"),
                         ("AADSTS7000215", PIPELINE_APP)),
        "expired secret": (variant(cloud, tmp_path / "expired-secret", client_secret=EXPIRED_SECRET),
                           ("AADSTS7000222",)),
        "wrong tenant": (variant(cloud, tmp_path / "wrong-tenant", tenant_id=OTHER_TENANT,
                                 authority=cloud.endpoints["authority"].rsplit("/", 1)[0] + "/" + OTHER_TENANT),
                         ("cannot use authority", OTHER_TENANT)),
        "unreachable endpoint": (variant(cloud, tmp_path / "unreachable", **moved_to_port(cloud, closed_port())),
                                 ("ConnectionError",)),
    }
    cloud.reset_metrics()
    for case, (sandbox_dir, needles) in signs_in.items():
        stack.env["BCSI_SANDBOX_DIR"] = sandbox_dir
        up = stack.run("up", "--yes", "--skip-preview", check=False)
        assert up.returncode != 0, case
        assert_user_error(console(up), *needles)
        planned = plan(stack)
        assert planned.returncode == 1, (case, console(planned))
        assert "Traceback" not in planned.stderr and len(planned.stderr.strip().splitlines()) == 1, planned.stderr
        for needle in needles:
            assert needle in planned.stderr, (case, planned.stderr)
        assert cloud.endpoints["client_secret"] not in console(up) + console(planned)
    stack.env["BCSI_SANDBOX_DIR"] = real_dir

    package = stack.project_dir / "solutions" / "BcSalesIntegrationSample_1_0_0_0.zip"
    good = package.read_bytes()
    package.write_bytes(good[: len(good) // 2])          # a truncated download
    up = stack.run("up", "--yes", "--skip-preview", check=False)
    assert up.returncode != 0
    assert_user_error(console(up), "BcSalesIntegrationSample_1_0_0_0.zip")
    package.write_bytes(good)
    assert cloud.metrics()["writes"] == 0

    # A package older than the installed solution: refused by name, nothing else changes.
    edit_stack(stack.project_dir, to_upgrade)      # 1.1, without the role 1.1 dropped
    stack.run("up", "--yes", "--skip-preview")
    before = live_state(cloud)
    edit_stack(stack.project_dir, lambda c: c["bcsi:solution"].update(path="solutions/BcSalesIntegrationSample_1_0_0_0.zip"))
    cloud.reset_metrics()
    up = stack.run("up", "--yes", "--skip-preview", check=False)
    assert up.returncode != 0
    assert_user_error(console(up), "package is version 1.0.0.0 but 1.1.0.0 is installed")
    assert cloud.metrics()["writes"] == 0
    assert live_state(cloud) == before
