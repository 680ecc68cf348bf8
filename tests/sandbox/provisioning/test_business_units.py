"""The stack's providers, `bcsi plan` and `bcsi check` with principals in a child business unit (the default seed's
"Sales Europe", where bob works), against the sandbox's Dataverse rules (tests/sandbox/dataverse/test_business_units.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from provisioning.check import LiveEnvironment, run_checks
from provisioning.plan import make_plan
from provisioning.settings import load_stack, parse
from solution_import.role_lookup import declared_role_ids
from solution_import.roles import RoleAssignmentProvider
from solution_import.solution import IntegrationSolutionProvider
from solution_import.users import ApplicationUserProvider
from tests.providerkit import ProviderCloud
from tests.sandboxkit import start_sandbox

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "solutions" / "BcSalesIntegrationSample_1_0_0_0.zip"
SALES_EUROPE = "6a2e9c41-7b3d-4f58-8e0a-1c9d2b7f5e63"
PRODUCT_AVAILABILITY_USER = "e1f0c3a4-5b6d-4c7e-8f90-a1b2c3d4e5f6"   # the sample package declares it
INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
ANN = {"type": "user", "key": "ann@contoso.com"}
BOB = {"type": "user", "key": "bob@contoso.com"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with start_sandbox(tmp_path_factory.mktemp("units") / "data") as running:
        cloud = ProviderCloud(running)
        IntegrationSolutionProvider().create(cloud.solution_props(SAMPLE))
        yield cloud


def held_roles(cloud, upn: str) -> list[dict]:
    user = cloud.dataverse.list("systemusers", select=["systemuserid"], filter=f"domainname eq '{upn}'",
                                expand="systemuserroles_association($select=roleid,_businessunitid_value)")[0]
    return user["systemuserroles_association"]


def test_a_salesperson_in_a_child_unit_gets_that_units_copy_and_refresh_sees_it_go(cloud):
    """Product Availability User for ann (root unit) and bob (Sales Europe): found by the package's declared id
    (the role is named "Dynamics 365 Business Central Product Availability User"), each given the copy of their
    own unit. Before this change the product looked the role up by the name "Product Availability User" in the root
    unit and gave bob the root role, which Dataverse refuses."""
    provider = RoleAssignmentProvider()
    props = cloud.props(roleName="Product Availability User", roleId=PRODUCT_AVAILABILITY_USER,
                        principals=[ANN, BOB], integrationPrincipal=None)
    created = provider.create(props)
    assert created.id == PRODUCT_AVAILABILITY_USER
    bobs = [r for r in held_roles(cloud, "bob@contoso.com") if r["_businessunitid_value"] == SALES_EUROPE]
    assert any(r["roleid"] != PRODUCT_AVAILABILITY_USER for r in bobs)
    assert PRODUCT_AVAILABILITY_USER in {r["roleid"] for r in held_roles(cloud, "ann@contoso.com")}

    read = provider.read(created.id, created.outs)
    assert read.outs["members"] == [ANN, BOB]            # holders of every unit's copy
    assert not provider.diff(created.id, read.outs, props).changes

    copy = next(r["roleid"] for r in bobs if r["roleid"] != PRODUCT_AVAILABILITY_USER
                and r["roleid"] in {c["roleid"] for c in cloud.dataverse.list(
                    "roles", select=["roleid"], filter=f"_parentrootroleid_value eq {PRODUCT_AVAILABILITY_USER}")})
    bob_id = cloud.dataverse.list("systemusers", select=["systemuserid"], filter="domainname eq 'bob@contoso.com'")[0]
    cloud.dataverse.disassociate("systemusers", bob_id["systemuserid"], "systemuserroles_association", copy)
    drifted = provider.read(created.id, created.outs)
    assert drifted.outs["members"] == [ANN]
    assert provider.diff(created.id, drifted.outs, props).changes
    provider.update(created.id, drifted.outs, props)
    assert provider.read(created.id, created.outs).outs["members"] == [ANN, BOB]


def test_an_adopted_application_user_stays_in_its_unit_and_plan_and_check_say_so(cloud):
    """An application user someone created in a child unit is adopted where it is (moving it would remove its
    roles) and given that unit's copies; `bcsi plan` notes it and `bcsi check` fails it, since Business Central
    compares the user's role ids with the root roles' fixed ids (microsoft/BCApps
    src/Layers/W1/BaseApp/Integration/D365Sales/CRMConnectionSetup.Table.al, TestIntegrationUserRequirements)."""
    cloud.dataverse.create("systemusers", {"applicationid": INTEGRATION_APP, "accessmode": 4,
                                           "businessunitid@odata.bind": f"/businessunits({SALES_EUROPE})"})
    adopted = ApplicationUserProvider().create(cloud.props(appId=INTEGRATION_APP, businessUnitId=None))
    assert adopted.outs["currentBusinessUnitId"] == SALES_EUROPE
    integration = {"type": "application", "key": INTEGRATION_APP}
    RoleAssignmentProvider().create(cloud.props(
        roleName="Integration User", roleId="6f960e32-a72b-e511-80d9-3863bb349780",
        principals=[{"type": "user", "key": "integration"}], integrationPrincipal=integration))

    settings = load_stack(ROOT, "sandbox")
    plan = make_plan(settings, "sandbox", cloud.conn, declared=declared_role_ids(ROOT / settings.solution.path))
    assert any(INTEGRATION_APP in note and SALES_EUROPE in note for note in plan.notes), plan.notes

    results = {r.name: r for r in run_checks(LiveEnvironment(settings, cloud.clients, ROOT, cloud.conn))}
    unit = results["integration principal.root-business-unit"]
    assert unit.result == "fail" and SALES_EUROPE in unit.detail
    assert results["integration principal.integration-user"].result == "fail"   # holds the copy, not the root role


def test_check_finds_the_integration_user_by_internalemailaddress(cloud):
    """In user mode BC finds its integration user by `internalemailaddress` (CRMSystemuser.SetFilter(
    InternalEMailAddress, …) in TestIntegrationUserRequirements, microsoft/BCApps
    src/Layers/W1/BaseApp/Integration/D365Sales/CRMConnectionSetup.Table.al), which need not be its UPN."""
    cloud.dataverse.create("systemusers", {"domainname": "svc-bcsync@contoso.com",
                                           "internalemailaddress": "bc.sync@contoso.com", "accessmode": 4,
                                           "businessunitid@odata.bind": "/businessunits(3b0c7a8e-2f4d-4e6a-9c1b-7d5e8f2a6b40)"})
    config = load_stack(ROOT, "sandbox")
    document = {"bcsi:cloud": "sandbox", "bcsi:identity": {"mode": "existing",
                                                           "user": {"userPrincipalName": "bc.sync@contoso.com"}},
                "bcsi:solution": {"path": str(config.solution.path)},
                "bcsi:businessCentral": {"environment": "Production", "company": "CRONUS USA, Inc."}}
    settings = parse(document, "stacks/Pulumi.usermode.yaml", project_dir=ROOT)
    results = {r.name: r for r in run_checks(LiveEnvironment(settings, cloud.clients, ROOT, cloud.conn))}
    assert results["integration principal.exists"].result == "pass", results["integration principal.exists"]
