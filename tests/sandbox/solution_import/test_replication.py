"""The Dataverse providers wait for Microsoft's replication (mscloud/replication.py) against a sandbox with its
default delays on: a user licensed seconds ago is not a systemuser yet, a service principal created seconds ago is
not seen by Dataverse yet. Each wait is bounded and reported; when the bound runs out the error is one line naming
the object and the likely cause. Nothing in mscloud, msal or requests is patched.
"""
from __future__ import annotations

import time
import uuid

import pytest

from mscloud.errors import BadRequest
from mscloud.replication import BOUND_ENV
from solution_import.common import DataverseSetupError
from solution_import.roles import RoleAssignmentProvider
from solution_import.users import ApplicationUserProvider, IntegrationUserAccessProvider

pytestmark = pytest.mark.sandbox
SALES_SKU = "1e1a282c-9c54-43a2-9310-98ef728faace"



def new_licensed_user(cloud) -> str:
    """An Entra user licensed just now, as a stack's LicenseAssignment leaves it: not in Dataverse yet."""
    graph = cloud.clients.graph
    upn = f"new{uuid.uuid4().hex[:8]}@contoso.com"
    graph.post("/users", {"accountEnabled": True, "displayName": "New Seller", "mailNickname": upn.split("@")[0],
                          "userPrincipalName": upn, "usageLocation": "US",
                          "passwordProfile": {"password": "Sandbox-Pa55word!"}})
    graph.post(f"/users/{upn}/assignLicense", {"addLicenses": [{"skuId": SALES_SKU, "disabledPlans": []}],
                                               "removeLicenses": []})
    return upn


def role_props(cloud, upn: str) -> dict:
    return cloud.props(roleName="Salesperson", roleId=None, principals=[{"type": "user", "key": upn}],
                       integrationPrincipal=None)


def test_a_role_for_a_user_licensed_seconds_ago_is_assigned_once_the_sync_adds_the_user(cloud):
    upn = new_licensed_user(cloud)
    created = RoleAssignmentProvider().create(role_props(cloud, upn))
    holders = cloud.dataverse.list("systemusers", select=["domainname"], filter=f"domainname eq '{upn}'",
                                   expand="systemuserroles_association($select=name)")
    assert [r["name"] for r in holders[0]["systemuserroles_association"]] == ["Salesperson"]
    assert created.outs["members"] == [{"type": "user", "key": upn}]


def test_the_access_mode_of_a_user_licensed_seconds_ago_is_set_once_the_sync_adds_the_user(cloud):
    upn = new_licensed_user(cloud)
    created = IntegrationUserAccessProvider().create(cloud.props(userPrincipalName=upn, accessMode=4))
    assert cloud.dataverse.get("systemusers", created.id, select=["accessmode"])["accessmode"] == 4


def test_an_application_user_for_a_service_principal_created_seconds_ago(cloud):
    graph = cloud.clients.graph
    app = graph.post("/applications", {"displayName": f"fresh {uuid.uuid4().hex[:6]}"})
    for _ in range(40):   # the app itself replicates first (NoBackingApplicationObject); pulumi-azuread waits too
        try:
            graph.post("/servicePrincipals", {"appId": app["appId"]})
            break
        except BadRequest:   # the app has not replicated yet
            time.sleep(0.25)
    created = ApplicationUserProvider().create(cloud.props(appId=app["appId"], businessUnitId=None))
    assert created.outs["accessMode"] == 4


def test_a_user_who_never_syncs_fails_after_the_bound_with_one_clear_line(cloud, monkeypatch):
    monkeypatch.setenv(BOUND_ENV, "2")
    with pytest.raises(DataverseSetupError) as failed:
        IntegrationUserAccessProvider().create(cloud.props(userPrincipalName="dan@contoso.com", accessMode=4))
    message = str(failed.value)
    assert "\n" not in message and "dan@contoso.com" in message and "not done after 2 s" in message
    assert "not enabled or not licensed in Entra ID" in message
