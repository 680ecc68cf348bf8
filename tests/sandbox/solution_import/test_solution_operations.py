"""IntegrationSolution against the sandbox's solution operations: upgrade vs first install, waiting for another
import, preflight through a team. Providers are called as the engine calls them; nothing is patched.

One private sandbox for this module; tests run in file order (1.0 installed, then upgraded to 1.1).
"""
from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
import requests

from mscloud.errors import NotFound
from solution_import.common import DataverseSetupError
from solution_import.importjob import ImportFailed
from solution_import.solution import IntegrationSolutionProvider
from tests.sandbox.solution_import.test_providers import ADD_ON, SAMPLE_10, SAMPLE_11

pytestmark = pytest.mark.sandbox

PRODUCT_AVAILABILITY_USER = "e1f0c3a4-5b6d-4c7e-8f90-a1b2c3d4e5f6"



def dataverse_posts(cloud) -> dict:
    return {route: n for route, n in cloud.running.metrics()["requests"].items()
            if route.startswith("POST") and "/api/data/" in route}


def start_import(cloud, path: Path) -> str:
    """Someone else's import, started straight through the Web API: its async operation id."""
    answer = cloud.dataverse.action("ImportSolutionAsync", {
        "CustomizationFile": base64.b64encode(path.read_bytes()).decode(),
        "OverwriteUnmanagedCustomizations": False, "PublishWorkflows": True})
    return answer["AsyncOperationId"]


def hold(cloud, seconds: float) -> None:
    response = requests.post(f"{cloud.running.endpoints['admin']}/orgs/contoso/solution-imports/hold",
                             json={"seconds": seconds}, verify=cloud.running.ca_file, timeout=10)
    assert response.status_code == 200, response.text


def wait_until_done(cloud, operation_id: str) -> int:
    for _ in range(200):
        operation = cloud.dataverse.get("asyncoperations", operation_id, select=["statecode", "statuscode"])
        if operation["statecode"] == 3:
            return operation["statuscode"]
        time.sleep(0.1)
    raise AssertionError("import did not finish")


def role_exists(cloud, role_id: str) -> bool:
    try:
        cloud.dataverse.get("roles", role_id, select=["roleid"])
        return True
    except NotFound:
        return False


def test_first_install_imports_and_a_newer_version_upgrades_removing_the_dropped_role(cloud):
    """A first install goes through ImportSolutionAsync; a newer version of the installed managed solution through
    StageAndUpgradeAsync, which deletes what the new version dropped (1.1 drops Product Availability User).
    Sources: https://learn.microsoft.com/power-apps/maker/data-platform/update-solutions,
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/stageandupgradeasync
    """
    provider = IntegrationSolutionProvider()
    cloud.running.reset_metrics()
    created = provider.create(cloud.solution_props(SAMPLE_10))
    assert created.outs["installedVersion"] == "1.0.0.0"
    assert list(dataverse_posts(cloud)) == ["POST /orgs/{org}/api/data/v9.2/ImportSolutionAsync"]
    assert role_exists(cloud, PRODUCT_AVAILABILITY_USER)

    cloud.running.reset_metrics()
    updated = provider.update(created.id, created.outs, cloud.solution_props(SAMPLE_11))
    assert updated.outs["installedVersion"] == "1.1.0.0"
    assert list(dataverse_posts(cloud)) == ["POST /orgs/{org}/api/data/v9.2/StageAndUpgradeAsync"]
    assert not role_exists(cloud, PRODUCT_AVAILABILITY_USER)

    cloud.running.reset_metrics()
    assert provider.create(cloud.solution_props(SAMPLE_11)).outs["installedVersion"] == "1.1.0.0"
    with pytest.raises(DataverseSetupError, match="cannot downgrade"):
        provider.create(cloud.solution_props(SAMPLE_10))
    assert cloud.running.metrics()["writes"] == 0


def test_an_import_waits_for_another_one_then_runs_and_says_so(cloud, capsys):
    """Dataverse allows only one solution operation at a time and asks to try again later
    (https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/concurrent-solution-operation-failures):
    the import waits within importTimeoutSeconds, says that it waits, then runs. The refused attempt has no import
    job row, so its reason comes from the async operation's message, not from a 404.
    """
    other = start_import(cloud, SAMPLE_11)          # same version again: a re-import by someone else
    hold(cloud, 3)
    with pytest.raises(ImportFailed, match="bcsi_itemavailability|BcSalesIntegrationPrerequisites"):
        IntegrationSolutionProvider().create(cloud.solution_props(ADD_ON, importTimeoutSeconds=30))
    assert wait_until_done(cloud, other) == 30
    err = capsys.readouterr().err
    assert "another solution operation is running" in err and "waiting" in err


def test_an_import_blocked_until_the_timeout_is_one_clear_line(cloud):
    """Still blocked when importTimeoutSeconds runs out: one line naming the solution, the wait and Dataverse's
    reason (from the async operation's message), nothing changed."""
    other = start_import(cloud, SAMPLE_11)
    hold(cloud, 6)
    with pytest.raises(DataverseSetupError) as raised:
        IntegrationSolutionProvider().create(cloud.solution_props(ADD_ON, importTimeoutSeconds=2))
    message = str(raised.value)
    assert "\n" not in message and "BcSalesIntegrationSampleAddOn" in message
    assert "importTimeoutSeconds" in message and "Cannot start another [Import]" in message
    assert wait_until_done(cloud, other) == 30


def test_preflight_accepts_system_administrator_held_through_a_team(cloud):
    """System Administrator (and Solution Customizer) held through a team is enough to import: "the user needs to
    have either the required privilege assigned through a role directly, or needs to be member of a team that has
    a security role with the privilege assigned" (https://learn.microsoft.com/power-platform/admin/how-record-access-determined).
    """
    dataverse = cloud.dataverse
    me = dataverse.whoami()["UserId"]
    direct = {r["name"]: r["roleid"] for r in dataverse.list(f"systemusers({me})/systemuserroles_association",
                                                             select=["roleid", "name"])}
    team = dataverse.create("teams", {"name": "Deployers", "businessunitid@odata.bind":
                                      f"/businessunits({dataverse.whoami()['BusinessUnitId']})"})
    dataverse.associate("teams", team, "teammembership_association", "systemusers", me)
    for role_id in direct.values():
        dataverse.associate("teams", team, "teamroles_association", "roles", role_id)
        dataverse.disassociate("systemusers", me, "systemuserroles_association", role_id)
    try:
        assert dataverse.list(f"systemusers({me})/systemuserroles_association") == []
        with pytest.raises(ImportFailed):     # past the preflight: the add-on's own missing dependency
            IntegrationSolutionProvider().create(cloud.solution_props(ADD_ON))
        dataverse.disassociate("teams", team, "teamroles_association", direct["Solution Customizer"])
        with pytest.raises(DataverseSetupError, match=r"lacks the Dataverse role\(s\) Solution Customizer"):
            IntegrationSolutionProvider().create(cloud.solution_props(ADD_ON))
    finally:
        for role_id in direct.values():
            dataverse.associate("systemusers", me, "systemuserroles_association", "roles", role_id)
        dataverse.delete("teams", team)
