"""Crash and recovery (issue #8): `pulumi up` is SIGKILLed (with its language host and provider processes, as a
lost CI runner would be) while the solution import is running and again while the role $batch is in flight;
the documented recovery then finishes the job with nothing created twice and nothing left behind.

Recovery procedure (README "Failure and recovery"):
    pulumi cancel --yes                                  # the dead run's lock stays in a self-managed backend
    pulumi refresh --clear-pending-creates --yes         # read live state, drop the dead run's pending creates
    pulumi up --yes                                      # adopts what the dead run created (natural keys)
"""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from harness.process import alive, kill_tree
from tests.engine.test_reliability import INTEGRATION_APP, SOLUTION, assert_no_duplicates, live_state, sandbox_stack
from tests.enginekit import pulumi_binary

pytestmark = [pytest.mark.engine, pytest.mark.slow]

OUR_TYPES = ("bcsi:IntegrationSolution", "bcsi:ApplicationUser", "bcsi:IntegrationUserAccess", "bcsi:RoleAssignment",
             "bcsi:LicenseAssignment")


def requests_matching(metrics: dict, *parts: str) -> int:
    return sum(n for route, n in metrics["requests"].items() if all(p in route for p in parts))


def import_running():
    """A moment: ImportSolutionAsync was sent and a record (its async operation) has been read since."""
    before = {"reads": 0}

    def moment(metrics: dict) -> bool:
        reads = requests_matching(metrics, "GET /orgs/", "({key})")
        if not requests_matching(metrics, "ImportSolutionAsync"):
            before["reads"] = reads
            return False
        return reads > before["reads"]

    moment.__name__ = "import_running"
    return moment


def role_batch_sent(metrics: dict) -> bool:
    return requests_matching(metrics, "POST /orgs/", "$batch") > 0


def up_killed_when(stack, cloud, moment, timeout: float = 180) -> str:
    """Starts `pulumi up` in its own process group and SIGKILLs it with every process below it (language host,
    providers) once `moment(metrics)` holds. Returns the console output up to the kill."""
    cloud.reset_metrics()
    log = stack.state_dir.parent / f"killed-up-{moment.__name__}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [pulumi_binary(), "up", "--yes", "--skip-preview", "--stack", stack.name, "--non-interactive",
             "--color", "never"],
            cwd=stack.project_dir, env=stack.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while not moment(cloud.metrics()):
                assert process.poll() is None, f"up ended before {moment.__name__}:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"no {moment.__name__} in {timeout} s"
                time.sleep(0.05)
        finally:
            below = kill_tree(process.pid)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert below, "the engine had started no language host or provider"
    assert not alive(below), f"processes of the killed run still running: {alive(below)}"
    return log.read_text()


def recover(stack) -> list[str]:
    """The documented recovery before the next `up`; returns the commands it needed."""
    done = ["refresh --clear-pending-creates --yes"]
    refreshed = stack.run("refresh", "--clear-pending-creates", "--yes", check=False)
    if refreshed.returncode != 0 and "locked" in refreshed.stdout + refreshed.stderr:
        stack.run("cancel", "--yes")
        refreshed = stack.run("refresh", "--clear-pending-creates", "--yes", check=False)
        done = ["cancel --yes", *done]
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    print("recovery:", done)
    return done


def resources_in_state(stack) -> tuple[list[str], list]:
    deployment = json.loads(stack.run("stack", "export").stdout)["deployment"]
    ours = [r["type"].split("/")[-1] for r in deployment.get("resources", []) if r["type"].endswith(OUR_TYPES)]
    return sorted(ours), deployment.get("pending_operations") or []


def test_up_killed_during_import_and_during_role_batch_recovers_without_duplicates_or_orphans(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox", latency_ms=250)
    stack = sandbox_stack(tmp_path, cloud)

    # 1. killed while Dataverse runs the async import (the provider is polling asyncoperations)
    up_killed_when(stack, cloud, import_running())
    _, pending = resources_in_state(stack)
    assert any(op["resource"]["type"].endswith("bcsi:IntegrationSolution") for op in pending), pending
    recover(stack)
    assert resources_in_state(stack)[1] == []

    # 2. killed while the role assignments' Dataverse $batch is in flight
    up_killed_when(stack, cloud, role_batch_sent)
    recover(stack)

    # 3. a plain up converges
    stack.run("up", "--yes", "--skip-preview")
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert [s for s in state["solutions"] if s[0] == SOLUTION] == [(SOLUTION, "1.0.0.0")]
    assert state["applicationUsers"].count(INTEGRATION_APP) == 1
    assert state["holders"]["Integration Administrator"] == [INTEGRATION_APP]
    assert state["holders"]["Integration User"] == sorted([INTEGRATION_APP, "ann@contoso.com"])
    assert state["holders"]["Product Availability User"] == ["ann@contoso.com", "bob@contoso.com"]
    assert state["licences"]["DYN365_ENTERPRISE_SALES"] == ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]

    # no orphans: every object is in state exactly once, nothing pending, and the outputs match the live holders
    ours, pending = resources_in_state(stack)
    assert pending == []
    assert ours == sorted(["bcsi:ApplicationUser", "bcsi:IntegrationSolution", "bcsi:IntegrationUserAccess",
                           "bcsi:LicenseAssignment"] + ["bcsi:RoleAssignment"] * 3)
    assert stack.outputs()["roleAssignments"] == {role: state["holders"][role] for role in stack.outputs()["roleAssignments"]}
    cloud.reset_metrics()
    stack.run("preview", "--expect-no-changes")
    assert cloud.metrics()["writes"] == 0
