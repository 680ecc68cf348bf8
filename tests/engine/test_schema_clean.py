"""The whole demo flow -- preview, up, plan, check, a second preview, destroy -- with the real engine against the
sandbox, which enforces Microsoft's schema: the product sends only names Microsoft knows, so the sandbox's count
of schema refusals (GET {admin}/metrics, `schema_refusals`) stays at zero.

Tests that provoke refusals on purpose are tests/sandbox/schema/test_enforced.py.
"""
from __future__ import annotations

import subprocess

import pytest

from tests.enginekit import ROOT, VENV, Stack, sandbox_project_stack

pytestmark = pytest.mark.engine
POLICIES = str(ROOT / "policies")


def bcsi(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "bcsi"), *args, "--stack", "sandbox"], cwd=stack.project_dir,
                          env=stack.env, capture_output=True, text=True, timeout=300)


def test_demo_flow_causes_no_schema_refusal(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_project_stack(tmp_path, cloud)
    cloud.reset_metrics()

    stack.run("preview", "--policy-pack", POLICIES)
    stack.run("up", "--yes", "--skip-preview", "--policy-pack", POLICIES)
    plan = bcsi(stack, "plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    check = bcsi(stack, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    stack.run("preview", "--expect-no-changes", "--policy-pack", POLICIES)
    stack.run("destroy", "--yes", "--skip-preview")

    metrics = cloud.metrics()
    assert metrics["total"] > 0
    assert (metrics["schema_refusals"], metrics["schema_refused"]) == (0, {})
