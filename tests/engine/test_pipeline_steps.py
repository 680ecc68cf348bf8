"""pipelines/steps.sh in the pipelines' own order against a sandbox, so the examples cannot rot:
validate -> plan (markdown for the PR comment) -> preview with the policy pack -> up with the policy pack -> check,
then a second plan that must show no change. The project is copied (stack init writes an encryptionsalt).
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.engine.test_sandbox_stack import copy_project
from tests.enginekit import ROOT, VENV, engine_env

pytestmark = pytest.mark.engine

PIPELINE_PARTS = ("pipelines", "policies")


def pipeline_project(target):
    """The project as a pipeline checks it out: program, stacks, pipelines, policy pack; the venv linked in."""
    copy_project(target)
    for part in PIPELINE_PARTS:
        shutil.copytree(ROOT / part, target / part, ignore=shutil.ignore_patterns("__pycache__"))
    (target / ".venv").symlink_to(VENV)   # PulumiPolicy.yaml and steps.sh find the venv at ../.venv / .venv
    return target


def has_check_command() -> bool:
    proc = subprocess.run([str(VENV / "bin" / "bcsi"), "check", "--help"], capture_output=True, text=True)
    return proc.returncode == 0


def test_pipeline_steps_in_order_on_the_sandbox(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    project = pipeline_project(tmp_path / "project")
    out = tmp_path / "out"
    env = engine_env(tmp_path / "state", passphrase="sandbox", BCSI_SANDBOX_DIR=str(cloud.data_dir),
                     BCSI_OUT_DIR=str(out), BCSI_POLICY_CONFIG=str(project / "pipelines" / "policy-config.json"))

    def step(name: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(project / "pipelines" / "steps.sh"), name, "sandbox"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"steps.sh {name} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    assert "valid" in step("validate").stdout
    step("plan")   # exit 2 ("changes") is not a failure of the step
    plan = (out / "plan-sandbox.md").read_text()
    assert plan.startswith("**bcsi plan — stack sandbox: ") and "grant" in plan.splitlines()[0], plan
    step("preview")   # with the policy pack: a mandatory violation would fail the step
    step("up")
    if has_check_command():
        step("check")
        assert (out / "check-sandbox.md").exists()
    step("plan")
    assert (out / "plan-sandbox.md").read_text().startswith("**bcsi plan — stack sandbox: no changes**")
