"""Each Dataverse provider of solution_import against the sandbox over real HTTPS, with request counts.

Providers are called directly (create/read/diff/update/delete) exactly as the engine calls them; the
sandbox's metrics show what went over the wire. Nothing in mscloud or requests is patched.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.seed import DEFAULT_SEED
from solution_import.common import DataverseSetupError
from solution_import.importjob import ImportFailed
from mscloud.wellknown import INTEGRATION_USER_ROLE_ID
from solution_import.roles import RoleAssignmentProvider
from solution_import.solution import IntegrationSolutionProvider
from solution_import.users import ApplicationUserProvider, IntegrationUserAccessProvider
from tests.providerkit import ProviderCloud
from tests.sandboxkit import start_sandbox

pytestmark = pytest.mark.sandbox

SOLUTIONS = Path(__file__).resolve().parents[3] / "solutions"
SAMPLE_10 = SOLUTIONS / "BcSalesIntegrationSample_1_0_0_0.zip"
SAMPLE_11 = SOLUTIONS / "BcSalesIntegrationSample_1_1_0_0.zip"
ADD_ON = SOLUTIONS / "BcSalesIntegrationSampleAddOn_1_0_0_0.zip"
INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
ADMIN_APP = "0c1c9a1e-6d1b-4a43-9a35-4f1d1f2b7c10"
BULK = 1000


class Cloud(ProviderCloud):
    """The private sandbox of this module: props for providers, the admin client, metrics."""

    def reset(self) -> None:
        self.running.reset_metrics()

    def metrics(self) -> dict:
        return self.running.metrics()

    def dataverse_requests(self) -> int:
        """HTTP requests to Dataverse routes (token requests and admin calls excluded)."""
        return sum(n for route, n in self.metrics()["requests"].items() if "/api/data/" in route)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """One private sandbox for this module (these tests import and uninstall solutions), with 1,000 extra users."""
    base = tmp_path_factory.mktemp("solution-import")
    seed = yaml.safe_load(DEFAULT_SEED.read_text())
    seed["graph"]["generatedUsers"] = BULK
    (base / "seed.yaml").write_text(yaml.safe_dump(seed))
    with start_sandbox(base / "data", seed=base / "seed.yaml") as running:
        yield Cloud(running)


def installed_version(cloud: Cloud, name: str):
    rows = cloud.dataverse.list("solutions", select=["version"], filter=f"uniquename eq '{name}'")
    return rows[0]["version"] if rows else None


def caller_id(cloud: Cloud) -> str:
    return cloud.dataverse.whoami()["UserId"]


def role_id_named(cloud: Cloud, name: str) -> str:
    return cloud.dataverse.list("roles", select=["roleid"], filter=f"name eq '{name}'")[0]["roleid"]


# ------------------------------------------------------------------ IntegrationSolution

def test_preflight_names_the_missing_role_before_any_write(cloud):
    customizer = role_id_named(cloud, "Solution Customizer")
    me = caller_id(cloud)
    cloud.dataverse.disassociate("systemusers", me, "systemuserroles_association", customizer)
    try:
        before = installed_version(cloud, "BcSalesIntegrationSample")
        cloud.reset()
        with pytest.raises(DataverseSetupError, match="Solution Customizer") as err:
            IntegrationSolutionProvider().create(cloud.solution_props(ADD_ON))
        assert "System Administrator" not in str(err.value).split("lacks")[1].split(";")[0]
        assert cloud.metrics()["writes"] == 0
        assert installed_version(cloud, "BcSalesIntegrationSample") == before
    finally:
        cloud.dataverse.associate("systemusers", me, "systemuserroles_association", "roles", customizer)


def test_import_then_same_version_is_adopted_without_writes(cloud):
    provider = IntegrationSolutionProvider()
    props = cloud.solution_props(SAMPLE_10)
    created = provider.create(props)
    assert created.outs["installedVersion"] == "1.0.0.0"
    assert installed_version(cloud, "BcSalesIntegrationSample") == "1.0.0.0"

    cloud.reset()
    again = provider.create(props)
    assert again.id == created.id
    assert cloud.metrics()["writes"] == 0

    read = provider.read(created.id, created.outs)
    assert read.outs["installedVersion"] == "1.0.0.0"
    assert not provider.diff(created.id, read.outs, props).changes


def test_upgrade_then_lower_version_is_refused(cloud):
    provider = IntegrationSolutionProvider()
    old = provider.read("", cloud.solution_props(SAMPLE_10)).outs
    new = cloud.solution_props(SAMPLE_11)
    assert provider.diff(old["solutionId"], old, new).changes
    updated = provider.update(old["solutionId"], old, new)
    assert updated.outs["installedVersion"] == "1.1.0.0"

    cloud.reset()
    with pytest.raises(DataverseSetupError, match="cannot downgrade"):
        provider.create(cloud.solution_props(SAMPLE_10))
    assert cloud.metrics()["writes"] == 0
    assert installed_version(cloud, "BcSalesIntegrationSample") == "1.1.0.0"


def test_failed_import_names_the_component(cloud):
    with pytest.raises(ImportFailed, match="bcsi_itemavailability|BcSalesIntegrationPrerequisites") as err:
        IntegrationSolutionProvider().create(cloud.solution_props(ADD_ON))
    assert "\n" not in str(err.value)
    assert installed_version(cloud, "BcSalesIntegrationSampleAddOn") is None


def test_import_timeout_is_a_clear_error(cloud):
    with pytest.raises(DataverseSetupError, match="import still running after"):
        IntegrationSolutionProvider().create(cloud.solution_props(ADD_ON, importTimeoutSeconds=0.001))


def test_delete_leaves_the_solution_unless_asked_to_uninstall(cloud):
    provider = IntegrationSolutionProvider()
    outs = provider.create(cloud.solution_props(SAMPLE_11)).outs
    cloud.reset()
    provider.delete(outs["solutionId"], outs)
    assert cloud.metrics()["writes"] == 0
    assert installed_version(cloud, "BcSalesIntegrationSample") == "1.1.0.0"
    provider.delete(outs["solutionId"], {**outs, "uninstallOnDelete": True})
    assert installed_version(cloud, "BcSalesIntegrationSample") is None
    assert provider.read(outs["solutionId"], outs).id == ""


# ------------------------------------------------------------------ users

def test_application_user_create_adopt_read_delete(cloud):
    provider = ApplicationUserProvider()
    props = cloud.props(appId=INTEGRATION_APP, businessUnitId=None)
    created = provider.create(props)
    user = cloud.dataverse.get("systemusers", created.id, select=["accessmode", "_businessunitid_value"])
    assert user["accessmode"] == 4
    assert created.outs["currentBusinessUnitId"] == created.outs["targetBusinessUnitId"]

    cloud.reset()
    assert provider.create(props).id == created.id  # adopted by app id
    assert cloud.metrics()["writes"] == 0

    read = provider.read(created.id, created.outs)
    assert not provider.diff(created.id, read.outs, props).changes
    cloud.dataverse.update("systemusers", created.id, {"accessmode": 0})
    drifted = provider.read(created.id, created.outs)
    assert provider.diff(created.id, drifted.outs, props).changes
    provider.update(created.id, drifted.outs, props)
    assert cloud.dataverse.get("systemusers", created.id, select=["accessmode"])["accessmode"] == 4

    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id == ""


def test_integration_user_access_sets_and_restores_the_mode(cloud):
    provider = IntegrationUserAccessProvider()
    props = cloud.props(userPrincipalName="bcintegration@contoso.com", accessMode=4)
    created = provider.create(props)
    assert created.outs["previousAccessMode"] == 0
    assert cloud.dataverse.get("systemusers", created.id, select=["accessmode"])["accessmode"] == 4

    cloud.reset()
    read = provider.read(created.id, created.outs)
    assert not provider.diff(created.id, read.outs, props).changes
    assert cloud.metrics()["writes"] == 0

    provider.delete(created.id, created.outs)
    assert cloud.dataverse.get("systemusers", created.id, select=["accessmode"])["accessmode"] == 0


def test_user_not_synced_yet_is_a_clear_error(cloud, monkeypatch):
    monkeypatch.setenv("BCSI_REPLICATION_WAIT_SECONDS", "1")   # dan is unlicensed: the sync never adds him
    with pytest.raises(DataverseSetupError, match="user dan@contoso.com is not in Dataverse"):
        IntegrationUserAccessProvider().create(cloud.props(userPrincipalName="dan@contoso.com", accessMode=4))


# ------------------------------------------------------------------ RoleAssignment

@pytest.fixture
def roles_installed(cloud):
    """The sample solution brings the integration roles (adopted when an earlier test installed it; 1.1 has no
    Product Availability User)."""
    IntegrationSolutionProvider().create(cloud.solution_props(SAMPLE_11))


ANN = {"type": "user", "key": "ann@contoso.com"}
BOB = {"type": "user", "key": "bob@contoso.com"}
CARLA = {"type": "user", "key": "carla@contoso.com"}


def role_props(cloud, principals, **extra):
    wanted = {"roleName": "Integration User", "roleId": INTEGRATION_USER_ROLE_ID, "principals": principals,
              "integrationPrincipal": {"type": "user", "key": "bcintegration@contoso.com"}, **extra}
    return cloud.props(**wanted)


def holders(cloud, role_id):
    """Holders of the root role and of its copies in child business units (bob is in one)."""
    rows = cloud.dataverse.list("systemusers", select=["domainname"], filter=(
        f"systemuserroles_association/any(r:r/roleid eq {role_id} or r/_parentrootroleid_value eq {role_id})"))
    return sorted(r["domainname"] for r in rows)


def test_role_assignment_lifecycle_writes_only_the_difference(cloud, roles_installed):
    provider = RoleAssignmentProvider()
    props = role_props(cloud, [ANN, {"type": "user", "key": "integration"}])
    cloud.reset()
    created = provider.create(props)
    assert created.id == INTEGRATION_USER_ROLE_ID
    assert holders(cloud, INTEGRATION_USER_ROLE_ID) == ["ann@contoso.com", "bcintegration@contoso.com"]
    assert cloud.metrics()["writes"] == 2

    cloud.reset()
    read = provider.read(created.id, created.outs)
    assert cloud.dataverse_requests() <= 3
    assert not provider.diff(created.id, read.outs, props).changes
    provider.update(created.id, read.outs, props)
    assert cloud.metrics()["writes"] == 0

    changed = role_props(cloud, [BOB, {"type": "user", "key": "integration"}])
    assert provider.diff(created.id, read.outs, changed).changes
    cloud.reset()
    updated = provider.update(created.id, read.outs, changed)
    assert cloud.metrics()["writes"] == 2  # +bob, -ann
    assert holders(cloud, INTEGRATION_USER_ROLE_ID) == ["bcintegration@contoso.com", "bob@contoso.com"]

    # drift: someone adds carla by hand; read shows it, diff wants it gone
    carla = cloud.dataverse.list("systemusers", select=["systemuserid"], filter="domainname eq 'carla@contoso.com'")
    cloud.dataverse.associate("systemusers", carla[0]["systemuserid"], "systemuserroles_association", "roles",
                              INTEGRATION_USER_ROLE_ID)
    drifted = provider.read(created.id, updated.outs)
    assert CARLA in drifted.outs["members"]
    assert provider.diff(created.id, drifted.outs, changed).changes

    provider.delete(created.id, drifted.outs)
    assert holders(cloud, INTEGRATION_USER_ROLE_ID) == ["carla@contoso.com"]  # only what it manages is removed


def test_unknown_principal_changes_nothing(cloud, roles_installed):
    cloud.reset()
    props = role_props(cloud, [ANN, {"type": "user", "key": "nobody@contoso.com"},
                               {"type": "application", "key": "11111111-2222-3333-4444-555555555555"}])
    with pytest.raises(DataverseSetupError, match="no role assignment was changed") as err:
        RoleAssignmentProvider().create(props)
    assert "nobody@contoso.com" in str(err.value) and "11111111-2222-3333-4444-555555555555" in str(err.value)
    assert "ann@contoso.com" not in str(err.value)
    assert cloud.metrics()["writes"] == 0


def test_unknown_role_says_how_it_was_looked_up(cloud, roles_installed):
    by_id = role_props(cloud, [ANN], roleName="Ghost", roleId="00000000-0000-0000-0000-000000000001")
    with pytest.raises(DataverseSetupError, match="looked up by id"):
        RoleAssignmentProvider().create(by_id)
    by_name = role_props(cloud, [ANN], roleName="Ghost", roleId=None)
    with pytest.raises(DataverseSetupError, match="looked up by name"):
        RoleAssignmentProvider().create(by_name)


def test_a_thousand_members_fit_the_request_budget(cloud, roles_installed):
    upns = [f"user{n:04d}@contoso.com" for n in range(1, BULK + 1)]  # seeded: graph.generatedUsers
    provider = RoleAssignmentProvider()
    props = cloud.props(roleName="Integration Administrator", roleId=None,
                        principals=[{"type": "user", "key": u} for u in upns], integrationPrincipal=None)
    cloud.reset()
    created = provider.create(props)
    requests_by_route = cloud.metrics()["requests"]
    batches = sum(n for route, n in requests_by_route.items() if route.endswith("$batch"))
    assert batches <= 3
    assert cloud.dataverse_requests() - batches <= 6
    assert cloud.metrics()["writes"] == 1000

    cloud.reset()
    read = provider.read(created.id, created.outs)
    assert len(read.outs["members"]) == 1000
    assert cloud.dataverse_requests() <= 3
    assert not provider.diff(created.id, read.outs, props).changes


def test_import_and_roles_converge_under_throttling(tmp_path):
    """429s and 503s (with Retry-After) on Dataverse routes: the HTTP core retries, the providers still converge."""
    with start_sandbox(tmp_path / "data", faults="429=0.2,503=0.05,seed=7") as running:
        throttled = Cloud(running)
        IntegrationSolutionProvider().create(throttled.solution_props(SAMPLE_11))
        provider = RoleAssignmentProvider()
        props = {**role_props(throttled, [ANN, BOB, CARLA]), "integrationPrincipal": None}
        created = provider.create(props)
        assert provider.read(created.id, created.outs).outs["members"] == [ANN, BOB, CARLA]
        assert holders(throttled, INTEGRATION_USER_ROLE_ID) == ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]
