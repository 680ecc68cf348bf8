"""Pure decisions of the Dataverse providers: preflight roles, import failure text, diffs, resource types."""
import pytest

from solution_import.importjob import failing_components
from solution_import.preflight import missing_import_roles
from mscloud.wellknown import INTEGRATION_ADMINISTRATOR_ROLE_ID, fixed_role_id
from solution_import.roles import RoleAssignment, RoleAssignmentProvider
from solution_import.common import DataverseSetupError
from solution_import.solution import IntegrationSolution, IntegrationSolutionProvider, import_action
from solution_import.users import ApplicationUser, IntegrationUserAccess, IntegrationUserAccessProvider

SYSADMIN = {"name": "System Administrator", "_roletemplateid_value": "627090FF-40A3-4053-8790-584EDC5BE201"}


def test_preflight_names_every_missing_role():
    assert missing_import_roles([]) == ["System Administrator", "Solution Customizer (or System Customizer)"]
    assert missing_import_roles([SYSADMIN]) == ["Solution Customizer (or System Customizer)"]
    assert missing_import_roles([SYSADMIN, {"name": "Solution Customizer"}]) == []
    assert missing_import_roles([SYSADMIN, {"name": "System Customizer"}]) == []
    renamed_admin = {"name": "Systemadministrator", "roletemplateid": SYSADMIN["_roletemplateid_value"]}
    assert missing_import_roles([renamed_admin, {"name": "Solution Customizer"}]) == []
    assert missing_import_roles([{"name": "System Administrator"}, {"name": "Solution Customizer"}]) == [
        "System Administrator"]  # a role merely named so is not the real one


def test_import_action_by_installed_version():
    """First install: ImportSolutionAsync; newer than an installed managed solution: StageAndUpgradeAsync (a plain
    import would only update it: https://learn.microsoft.com/power-apps/maker/data-platform/update-solutions)."""
    managed = {"version": "1.0.0.0", "ismanaged": True}
    assert import_action("S", "1.0.0.0", None) == "ImportSolutionAsync"
    assert import_action("S", "1.0", managed) is None
    assert import_action("S", "1.1.0.0", managed) == "StageAndUpgradeAsync"
    assert import_action("S", "1.1.0.0", {**managed, "ismanaged": False}) == "ImportSolutionAsync"
    with pytest.raises(DataverseSetupError, match="cannot downgrade"):
        import_action("S", "0.9.0.0", managed)


def test_failing_components_from_importjob_data():
    data = """<importexportxml><entities>
      <entity id="account" LocalizedName="Account"><result result="success" errorcode="0" errortext=""/></entity>
      <entity id="bcsi_itemavailability" LocalizedName="Item availability">
        <result result="failure" errorcode="0x80048541" errortext="Missing dependency BcSalesIntegrationPrerequisites"/>
      </entity></entities></importexportxml>"""
    assert failing_components(data) == [
        "entity Item availability: Missing dependency BcSalesIntegrationPrerequisites"]
    assert failing_components(None) == [] and failing_components("<not xml") == []


def test_type_tokens():
    for cls, name in ((IntegrationSolution, "IntegrationSolution"), (ApplicationUser, "ApplicationUser"),
                      (IntegrationUserAccess, "IntegrationUserAccess"), (RoleAssignment, "RoleAssignment")):
        assert cls._resource_type_name == f"dynamic/bcsi:{name}"


def test_fixed_role_ids_by_name():
    assert fixed_role_id("Integration Administrator") == INTEGRATION_ADMINISTRATOR_ROLE_ID
    assert fixed_role_id("Product Availability User") is None


BASE = {"connection": {"cloud": "sandbox"}, "environmentUrl": "https://x/orgs/contoso", "roleName": "Integration User",
        "roleId": "6f960e32-a72b-e511-80d9-3863bb349780"}
ANN = {"type": "user", "key": "ann@contoso.com"}
APP = {"type": "application", "key": "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"}


def test_role_diff_compares_live_members_with_desired_principals():
    provider = RoleAssignmentProvider()
    olds = {**BASE, "principals": [ANN], "members": [ANN]}
    assert not provider.diff("id", olds, {**BASE, "principals": [{"type": "user", "key": "ANN@contoso.com"}]}).changes
    assert provider.diff("id", olds, {**BASE, "principals": [ANN, APP]}).changes
    drifted = {**olds, "members": [ANN, {"type": "user", "key": "eve@contoso.com"}]}
    assert provider.diff("id", drifted, {**BASE, "principals": [ANN]}).changes
    integration = {**BASE, "principals": [{"type": "user", "key": "integration"}], "integrationPrincipal": APP}
    assert not provider.diff("id", {**olds, "members": [APP]}, integration).changes
    assert provider.diff("id", olds, {**BASE, "roleId": None, "roleName": "Other", "principals": [ANN]}).replaces


def test_solution_diff_on_version_sha_and_drift():
    provider = IntegrationSolutionProvider()
    news = {"uniqueName": "S", "version": "1.1.0.0", "packageSha256": "b", "uninstallOnDelete": False}
    olds = {**news, "installedVersion": "1.1.0.0"}
    assert not provider.diff("id", olds, news).changes
    assert provider.diff("id", {**olds, "version": "1.0.0.0", "installedVersion": "1.0.0.0"}, news).changes
    assert provider.diff("id", {**olds, "packageSha256": "a"}, news).changes
    assert provider.diff("id", {**olds, "installedVersion": "1.0.0.0"}, news).changes
    assert provider.diff("id", olds, news).replaces == []


def test_solution_diff_ignores_where_the_checkout_is():
    """Each pipeline run checks the repository out somewhere else (e.g. another agent's work directory): the same
    package (same sha256) at another absolute path is no change, or every fresh checkout previews an update."""
    provider = IntegrationSolutionProvider()
    news = {"uniqueName": "S", "version": "1.1.0.0", "packageSha256": "b", "packagePath": "/run2/solutions/s.zip"}
    olds = {**news, "packagePath": "/run1/solutions/s.zip", "installedVersion": "1.1.0.0"}
    assert not provider.diff("id", olds, news).changes
    assert provider.diff("id", {**olds, "packageSha256": "a"}, news).changes


def test_access_mode_diff_sees_drift():
    provider = IntegrationUserAccessProvider()
    news = {"userPrincipalName": "bc@contoso.com", "accessMode": 4}
    assert not provider.diff("id", {**news, "currentAccessMode": 4}, news).changes
    assert provider.diff("id", {**news, "currentAccessMode": 0}, news).changes


def test_role_diff_with_unknown_inputs_during_preview_reports_a_change():
    from pulumi.runtime.rpc import UNKNOWN
    provider = RoleAssignmentProvider()
    olds = {**BASE, "principals": [ANN], "members": [ANN]}
    assert provider.diff("id", olds, {**BASE, "principals": UNKNOWN}).changes
    assert provider.diff("id", olds, {**BASE, "principals": [{"type": "user", "key": "integration"}],
                                      "integrationPrincipal": UNKNOWN}).changes
