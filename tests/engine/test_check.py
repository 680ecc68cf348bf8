"""`bcsi check` after a real `pulumi up` of the sandbox stack: passes; a role and a licence taken away out of band
fail naming exactly those; `pulumi up --refresh` repairs what the stack owns and the check passes again.

The break-each-rule matrix runs in tests/sandbox/provisioning/test_check.py (providers, much faster); this is the real engine.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from mscloud.connection import clients_for, connection
from mscloud.wellknown import INTEGRATION_USER_ROLE_ID
from tests.engine.test_sandbox_stack import INTEGRATION_APP, SALES
from tests.enginekit import VENV, Stack, sandbox_project_stack

pytestmark = pytest.mark.engine


def bcsi_check(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "bcsi"), "check", "--stack", "sandbox", *args],
                          cwd=stack.project_dir, env=stack.env, capture_output=True, text=True, timeout=300)


def failures(proc: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    return [(c["name"], c["object"]) for c in json.loads(proc.stdout)["checks"] if c["result"] == "fail"]


def test_check_after_up_fails_on_drift_and_passes_after_up(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_project_stack(tmp_path, cloud)
    stack.run("up", "--yes", "--skip-preview")

    cloud.reset_metrics()
    table = bcsi_check(stack)
    assert table.returncode == 0, table.stdout + table.stderr
    assert table.stdout.splitlines()[-1].startswith("OK: ") and " 0 failed" in table.stdout
    assert cloud.metrics()["writes"] == 0

    clients = clients_for(connection("sandbox", sandbox_dir=cloud.data_dir))
    dataverse = clients.dataverse()
    app_user = dataverse.list("systemusers", select=["systemuserid"], filter=f"applicationid eq {INTEGRATION_APP}")[0]
    dataverse.disassociate("systemusers", app_user["systemuserid"], "systemuserroles_association", INTEGRATION_USER_ROLE_ID)
    sku = next(s for s in clients.graph.list("/subscribedSkus") if s["skuPartNumber"] == SALES)
    clients.graph.post("/users/bob@contoso.com/assignLicense", {"addLicenses": [], "removeLicenses": [sku["skuId"]]})

    broken = bcsi_check(stack, "--format", "json")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert failures(broken) == [("integration principal.integration-user", f"application user {INTEGRATION_APP}"),
                                ("licence", f"bob@contoso.com ({SALES})")]

    stack.run("up", "--yes", "--skip-preview", "--refresh")   # refresh reads the live holders: up converges them
    repaired = bcsi_check(stack, "--format", "json")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert failures(repaired) == []
