"""The sandbox's Dataverse solution operations and teams over real HTTPS: update vs upgrade, one solution
operation at a time, roles held through teams.

One private sandbox for this module (imports, holds and teams would disturb other modules' tests); tests run
in file order and leave the solution installed for the next one.
"""
from __future__ import annotations

import pytest
import requests

from tests.sandbox.dataverse.test_api import (  # noqa: F401 -- dv: the same module-scoped private sandbox fixture
    INTEGRATION_ADMINISTRATOR, PRODUCT_AVAILABILITY_USER, READER_APP, ROOT_BU, as_app, dv, error_of, package, user_id,
    wait_for)

pytestmark = pytest.mark.sandbox

SYSTEM_ADMINISTRATOR_NAME = "System Administrator"
LOCK_CODE = -2147020463


def imported(dv, name: str, action: str = "ImportSolutionAsync") -> tuple[dict, dict]:
    """Start an async import and wait for it: (the action's answer, the finished async operation)."""
    started = dv.post(action, json={"CustomizationFile": package(name), "OverwriteUnmanagedCustomizations": False,
                                    "PublishWorkflows": True})
    assert started.status_code == 200, started.text
    keys = started.json()
    wait_for(dv, keys["AsyncOperationId"])
    return keys, dv.get(f"asyncoperations({keys['AsyncOperationId']})").json()


def hold(dv, seconds: float) -> requests.Response:
    return requests.post(f"{dv.running.endpoints['admin']}/orgs/contoso/solution-imports/hold",
                         json={"seconds": seconds}, verify=dv.running.ca_file, timeout=10)


def role_exists(dv, role_id: str) -> bool:
    return dv.get(f"roles({role_id})").status_code == 200


def test_plain_import_of_a_newer_version_is_an_update_that_keeps_dropped_components(dv):
    """Importing a newer version with ImportSolutionAsync over the installed managed solution updates it:
    "Components that are not in the newer solution won't be deleted and will remain in the system."
    Source: https://learn.microsoft.com/power-apps/maker/data-platform/update-solutions (Update). Version 1.1 of
    the sample drops Product Availability User.
    """
    assert imported(dv, "BcSalesIntegrationSample_1_0_0_0")[1]["statuscode"] == 30
    ann = user_id(dv, "ann@contoso.com")
    ref = {"@odata.id": f"{dv.org}/api/data/v9.2/roles({PRODUCT_AVAILABILITY_USER})"}
    assert dv.post(f"systemusers({ann})/systemuserroles_association/$ref", json=ref).status_code == 204

    assert imported(dv, "BcSalesIntegrationSample_1_1_0_0")[1]["statuscode"] == 30
    solution = dv.get("solutions?$filter=uniquename eq 'BcSalesIntegrationSample'").json()["value"][0]
    assert solution["version"] == "1.1.0.0"
    assert role_exists(dv, PRODUCT_AVAILABILITY_USER)
    holders = dv.get(f"roles({PRODUCT_AVAILABILITY_USER})/systemuserroles_association?$select=systemuserid").json()
    assert [h["systemuserid"] for h in holders["value"]] == [ann]


def test_stage_and_upgrade_async_deletes_the_components_the_new_version_dropped(dv):
    """StageAndUpgradeAsync "imports a solution, stages it for upgrade, and applies the upgrade"; it answers
    AsyncOperationId and ImportJobKey. Upgrade: "Any components associated to the previous solution version that
    are not in the newer solution version will be deleted." Sources:
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/stageandupgradeasync and
    https://learn.microsoft.com/power-apps/maker/data-platform/update-solutions (Upgrade).
    """
    keys, operation = imported(dv, "BcSalesIntegrationSample_1_1_0_0", "StageAndUpgradeAsync")
    assert set(keys) >= {"AsyncOperationId", "ImportJobKey"} and isinstance(keys["ImportJobKey"], str)
    assert operation["statuscode"] == 30
    assert not role_exists(dv, PRODUCT_AVAILABILITY_USER)
    assert role_exists(dv, INTEGRATION_ADMINISTRATOR)
    links = dv.get(f"systemusers({user_id(dv, 'ann@contoso.com')})?$expand=systemuserroles_association($select=roleid)")
    assert PRODUCT_AVAILABILITY_USER not in {r["roleid"] for r in links.json()["systemuserroles_association"]}
    job = dv.get(f"importjobs({keys['ImportJobKey']})").json()
    assert job["solutionname"] == "BcSalesIntegrationSample" and 'result="success"' in job["data"]


def test_stage_and_upgrade_async_has_no_holding_solution_parameter(dv):
    """StageAndUpgradeAsync's parameters are OverwriteUnmanagedCustomizations, PublishWorkflows, CustomizationFile,
    ImportJobId, ConvertToManaged, SkipProductUpdateDependencies, SkipQueueRibbonJob, AsyncRibbonProcessing,
    ComponentParameters (and SolutionParameters): no HoldingSolution, no LayerDesiredOrder, which
    ImportSolutionAsync has. Source: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/stageandupgradeasync
    and .../importsolutionasync. The refusal's wording is OData's; its code is unconfirmed.
    """
    for extra in ("HoldingSolution", "LayerDesiredOrder"):
        refused = dv.post("StageAndUpgradeAsync", json={"CustomizationFile": package("BcSalesIntegrationSample_1_1_0_0"),
                                                        "OverwriteUnmanagedCustomizations": False,
                                                        "PublishWorkflows": True, extra: False})
        status, _, message = error_of(refused)
        assert status == 400 and f"'{extra}'" in message and "'StageAndUpgradeAsync'" in message


def test_a_second_import_while_one_runs_fails_before_its_import_job_exists(dv):
    """"Dataverse allows only one solution operation at a time. A concurrent request for different solution
    operations returns the error until the previous operation is completed." (error code -2147020463 / 80071151,
    "The solution installation or removal failed due to the installation or removal of another solution at the
    same time. Please try again later."). Sources:
    https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/concurrent-solution-operation-failures
    and https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/the-solution-installation-or-removal-failed-error-when-installing-or-removing-a-solution.
    The "Cannot start another [Import] because there is a previous [Import] running" wording and the async system
    job failing before its import job row exists are as users report them (community threads, not Microsoft);
    the HTTP status of a refused sync ImportSolution is unconfirmed (400 here).
    """
    assert hold(dv, 5).status_code == 409      # nothing running: nothing to hold
    first = dv.post("ImportSolutionAsync", json={"CustomizationFile": package("BcSalesIntegrationSample_1_1_0_0")})
    assert hold(dv, 3).json()["held"] == [first.json()["AsyncOperationId"]]

    second, operation = imported(dv, "BcSalesIntegrationSampleAddOn_1_0_0_0")
    assert (operation["statecode"], operation["statuscode"], operation["errorcode"]) == (3, 31, LOCK_CODE)
    assert "Cannot start another [Import] because there is a previous [Import] running" in operation["message"]
    status, code, _ = error_of(dv.get(f"importjobs({second['ImportJobKey']})"))
    assert (status, code) == (404, "0x80040217")
    sync = dv.post("ImportSolution", json={"CustomizationFile": package("BcSalesIntegrationSample_1_1_0_0")})
    assert error_of(sync)[:2] == (400, "0x80071151")
    assert dv.get(f"asyncoperations({first.json()['AsyncOperationId']})").json()["statuscode"] == 20

    assert wait_for(dv, first.json()["AsyncOperationId"])[-1] == (3, 30)
    assert imported(dv, "BcSalesIntegrationSample_1_1_0_0")[1]["statuscode"] == 30   # free again


def test_teams_hold_members_and_roles_and_a_team_role_counts_for_its_members(dv):
    """Teams: entity set `teams`, N:N `teammembership_association` (systemuser-team) and `teamroles_association`
    (team-role), associated with `$ref`. "In order to perform an action on a record, the user needs to have
    either the required privilege assigned through a role directly, or needs to be member of a team that has a
    security role with the privilege assigned." Sources:
    https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/team and
    https://learn.microsoft.com/power-platform/admin/how-record-access-determined
    """
    reader = as_app(dv, READER_APP)
    assert reader.get("roles").status_code == 403          # Salesperson only
    created = dv.post("teams", headers={"Prefer": "return=representation"},
                      json={"name": "Deployers", "businessunitid@odata.bind": f"/businessunits({ROOT_BU})"})
    assert created.status_code == 201, created.text
    team = created.json()["teamid"]
    me = reader.get("WhoAmI").json()["UserId"]
    admin_role = dv.get(f"roles?$filter=name eq '{SYSTEM_ADMINISTRATOR_NAME}'&$select=roleid").json()["value"][0]["roleid"]
    member = {"@odata.id": f"{dv.org}/api/data/v9.2/systemusers({me})"}
    role = {"@odata.id": f"{dv.org}/api/data/v9.2/roles({admin_role})"}
    assert dv.post(f"teams({team})/teammembership_association/$ref", json=member).status_code == 204
    assert dv.post(f"teams({team})/teamroles_association/$ref", json=role).status_code == 204
    assert error_of(dv.post(f"teams({team})/teamroles_association/$ref", json=role))[:2] == (412, "0x80040237")

    teams = dv.get(f"systemusers({me})/teammembership_association?$select=teamid,name"
                   "&$expand=teamroles_association($select=name,_roletemplateid_value)").json()["value"]
    assert [t["name"] for t in teams] == ["Deployers"]
    assert [r["roleid"] for r in teams[0]["teamroles_association"]] == [admin_role]
    assert dv.get(f"systemusers({me})/systemuserroles_association").json()["value"][0]["name"] == "Salesperson"
    assert reader.get("roles").status_code == 200          # System Administrator through the team
    assert reader.post("ImportSolutionAsync", json={
        "CustomizationFile": package("BcSalesIntegrationSample_1_1_0_0")}).status_code == 200

    assert dv.delete(f"teams({team})/teammembership_association({me})/$ref").status_code == 204
    assert reader.get("roles").status_code == 403
    assert dv.delete(f"teams({team})").status_code == 204
    assert dv.get(f"roles({admin_role})").status_code == 200
