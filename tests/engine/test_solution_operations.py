"""Solution operations through the real engine on the sandbox stack (issue #16, points 4-6): preflight passes
with System Administrator held through a team; an upgrade 1.0 -> 1.1 removes the role 1.1 dropped; an import
that meets another one waits, says so, and both end installed, one after the other.

End states are read live through the sandbox's own APIs (tests/engine/test_reliability.py's live_state).
"""
from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import pytest
import requests

from mscloud.connection import clients_for, connection
from tests.engine.test_reliability import SOLUTION, assert_no_duplicates, console, live_state, sandbox_stack
from tests.engine.test_sandbox_stack import edit_stack
from tests.enginekit import pulumi_binary

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = "solutions/BcSalesIntegrationSample_1_1_0_0.zip"
DROPPED = "Product Availability User"     # in 1.0, not in 1.1


def dataverse_of(cloud):
    return clients_for(connection("sandbox", sandbox_dir=cloud.data_dir)).dataverse(cloud.endpoints["dataverse"])


def to_upgrade(config: dict) -> None:
    """The stack on 1.1, which no longer has the dropped role: its assignments go too."""
    config["bcsi:solution"]["path"] = UPGRADE
    config["bcsi:roles"].pop(DROPPED)


def hold_imports(cloud, seconds: float) -> list[str]:
    response = requests.post(f"{cloud.endpoints['admin']}/orgs/contoso/solution-imports/hold",
                             json={"seconds": seconds}, verify=cloud.ca_file, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["held"]


def move_roles_to_a_team(dataverse) -> None:
    """The pipeline's application user keeps no role of its own: a team it belongs to holds them."""
    me = dataverse.whoami()
    roles = dataverse.list(f"systemusers({me['UserId']})/systemuserroles_association", select=["roleid"])
    team = dataverse.create("teams", {"name": "Deployers", "businessunitid@odata.bind":
                                      f"/businessunits({me['BusinessUnitId']})"})
    dataverse.associate("teams", team, "teammembership_association", "systemusers", me["UserId"])
    for role in roles:
        dataverse.associate("teams", team, "teamroles_association", "roles", role["roleid"])
        dataverse.disassociate("systemusers", me["UserId"], "systemuserroles_association", role["roleid"])
    assert dataverse.list(f"systemusers({me['UserId']})/systemuserroles_association") == []


def test_preflight_through_a_team_then_an_upgrade_removes_the_dropped_role(tmp_path, start_sandbox):
    """System Administrator through a team is enough to import
    (https://learn.microsoft.com/power-platform/admin/how-record-access-determined); a newer version goes through
    StageAndUpgradeAsync, which deletes the components the new version dropped
    (https://learn.microsoft.com/power-apps/maker/data-platform/update-solutions)."""
    cloud = start_sandbox(tmp_path / "sandbox")
    move_roles_to_a_team(dataverse_of(cloud))
    stack = sandbox_stack(tmp_path, cloud)
    stack.run("up", "--yes", "--skip-preview")
    state = live_state(cloud)
    assert (SOLUTION, "1.0.0.0") in state["solutions"]
    assert state["holders"][DROPPED] == ["ann@contoso.com", "bob@contoso.com"]

    edit_stack(stack.project_dir, to_upgrade)
    cloud.reset_metrics()
    up = stack.run("up", "--yes", "--skip-preview")
    assert "upgrading solution BcSalesIntegrationSample 1.1.0.0" in console(up)
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert (SOLUTION, "1.1.0.0") in state["solutions"]
    assert DROPPED not in state["roles"] and DROPPED not in state["holders"]
    assert state["holders"]["Integration User"] == sorted(["5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37", "ann@contoso.com"])
    assert not any("ImportSolutionAsync" in route for route in cloud.metrics()["requests"])

    cloud.reset_metrics()
    preview = stack.run("preview", "--expect-no-changes")
    assert preview.returncode == 0 and cloud.metrics()["writes"] == 0


def test_overlapping_imports_both_end_installed_one_after_the_other(tmp_path, start_sandbox):
    """Dataverse runs one solution operation at a time
    (https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/concurrent-solution-operation-failures):
    someone else's import of 1.0 runs; the stack's import of 1.1 meets it, waits (and says so), then finds 1.0
    installed and upgrades it."""
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_stack(tmp_path, cloud)
    edit_stack(stack.project_dir, to_upgrade)
    dataverse_of(cloud).action("ImportSolutionAsync", {
        "CustomizationFile": base64.b64encode((ROOT / "solutions/BcSalesIntegrationSample_1_0_0_0.zip").read_bytes()).decode(),
        "OverwriteUnmanagedCustomizations": False, "PublishWorkflows": True})
    assert len(hold_imports(cloud, 300)) == 1
    cloud.reset_metrics()
    log = tmp_path / "up.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [pulumi_binary(), "up", "--yes", "--skip-preview", "--stack", stack.name, "--non-interactive",
             "--color", "never"], cwd=stack.project_dir, env=stack.env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            while not any("ImportSolutionAsync" in route for route in cloud.metrics()["requests"]):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the stack never started its import"
                time.sleep(0.2)
            time.sleep(3)                       # refused, and waiting
            hold_imports(cloud, 0)              # the other import finishes now
            assert process.wait(timeout=300) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
    output = log.read_text()
    assert "another solution operation is running in the environment; waiting" in output, output
    requests_made = cloud.metrics()["requests"]
    assert any("StageAndUpgradeAsync" in route for route in requests_made), requests_made
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert (SOLUTION, "1.1.0.0") in state["solutions"] and DROPPED not in state["roles"]
