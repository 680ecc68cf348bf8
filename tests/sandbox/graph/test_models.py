"""Graph state rules (sandbox/graph/models.py, apps.py) on an in-memory store: no HTTP."""
import time

import pytest

from sandbox.app import ServiceError
from sandbox.graph.apps import Apps, secret_sha256
from sandbox.graph.models import Directory, password_is_complex
from sandbox.graph.seed import seed_directory
from sandbox.store import Store

TENANT = "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21"
SALES = "1e1a282c-9c54-43a2-9310-98ef728faace"
SALES_PLAN = "2da8e897-7791-486b-b08f-cc63c8129df3"
GRAPH_SEED = {
    "skus": [{"skuPartNumber": "SALES", "skuId": SALES, "prepaidUnits": 2,
              "servicePlans": [{"servicePlanId": SALES_PLAN, "servicePlanName": "SALES_PLAN"}]}],
    "users": [{"userPrincipalName": "ann@contoso.com", "displayName": "Ann", "usageLocation": "US", "licenses": ["SALES"]},
              {"userPrincipalName": "bob@contoso.com", "displayName": "Bob", "usageLocation": "US"},
              {"userPrincipalName": "dan@contoso.com", "displayName": "Dan"}],
    "groups": [{"displayName": "Sales", "mailNickname": "sales", "members": ["bob@contoso.com", "dan@contoso.com"]}],
}


class Writes:
    def __init__(self):
        self.n = 0

    def __call__(self):
        self.n += 1


@pytest.fixture
def writes():
    return Writes()


@pytest.fixture
def directory(writes):
    d = Directory(Store(), TENANT, on_write=writes)
    seed_directory(d, {"domains": ["contoso.com"], "displayName": "Contoso"}, GRAPH_SEED)
    return d


def error_of(call, *args):
    with pytest.raises(ServiceError) as info:
        call(*args)
    return info.value


def new_user(**overrides):
    body = {"accountEnabled": True, "displayName": "Eve", "mailNickname": "eve", "userPrincipalName": "eve@contoso.com",
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "Str0ng!pass"}}
    body.update(overrides)
    return body


def test_password_complexity():
    assert password_is_complex("Abcdef1!")
    assert not password_is_complex("abcdefgh")
    assert not password_is_complex("Ab1!")


def test_create_user_rules(directory, writes):
    user = directory.create_user(new_user())
    assert writes.n == 1 and "Str0ng!pass" not in str(user)
    assert error_of(directory.create_user, new_user(userPrincipalName="EVE@contoso.com")).message == \
        "Another object with the same value for property userPrincipalName already exists."
    assert "password complexity" in error_of(directory.create_user, new_user(
        userPrincipalName="x@contoso.com", passwordProfile={"password": "weak"})).message
    assert "domain portion" in error_of(directory.create_user, new_user(userPrincipalName="x@fabrikam.com")).message
    missing = new_user(userPrincipalName="y@contoso.com")
    del missing["mailNickname"]
    assert error_of(directory.create_user, missing).message == \
        "Invalid value specified for property 'mailNickname' of resource 'User'."
    assert directory.find_user("Eve@Contoso.com")["id"] == user["id"]


def test_update_without_change_writes_nothing(directory, writes):
    directory.update_user("ann@contoso.com", {"displayName": "Ann"})
    assert writes.n == 0
    directory.update_user("ann@contoso.com", {"usageLocation": "DK"})
    assert writes.n == 1
    assert error_of(directory.update_user, "ann@contoso.com", {"usageLocation": "Denmark"}).status == 400
    assert error_of(directory.update_user, "nobody@contoso.com", {}).code == "Request_ResourceNotFound"


def test_direct_licences_and_units(directory, writes):
    state = directory.licence_state()
    assert state.consumed[SALES] == 1  # ann, direct
    assign = {"addLicenses": [{"skuId": SALES, "disabledPlans": [SALES_PLAN]}], "removeLicenses": []}
    directory.assign_user_licence("bob@contoso.com", assign)
    assert directory.licence_state().effective(directory.user("bob@contoso.com")["id"]) == \
        [{"disabledPlans": [SALES_PLAN], "skuId": SALES}]
    before = writes.n
    directory.assign_user_licence("bob@contoso.com", assign)  # the same again: no write
    assert writes.n == before
    assert error_of(directory.assign_user_licence, "dan@contoso.com", assign).message == \
        "License assignment cannot be done for user with invalid usage location."
    directory.update_user("dan@contoso.com", {"usageLocation": "US"})
    assert error_of(directory.assign_user_licence, "dan@contoso.com", assign).message == \
        f"Subscription with SKU {SALES} does not have any available licenses."
    bad_plan = {"addLicenses": [{"skuId": SALES, "disabledPlans": ["00000000-0000-0000-0000-000000000001"]}],
                "removeLicenses": []}
    assert error_of(directory.assign_user_licence, "ann@contoso.com", bad_plan).status == 400
    unknown = {"addLicenses": [{"skuId": "00000000-0000-0000-0000-000000000009"}], "removeLicenses": []}
    assert error_of(directory.assign_user_licence, "ann@contoso.com", unknown).status == 400
    assert "missing parameters are: removeLicenses" in error_of(
        directory.assign_user_licence, "ann@contoso.com", {"addLicenses": []}).message
    directory.assign_user_licence("ann@contoso.com", {"addLicenses": [], "removeLicenses": [SALES]})
    assert directory.licence_state().consumed[SALES] == 1


def test_group_licences_reach_members_until_units_run_out(directory):
    group = directory.groups()[0]
    directory.assign_group_licence(group["id"], {"addLicenses": [{"skuId": SALES}], "removeLicenses": []})
    state = directory.licence_state()
    bob, dan = directory.user("bob@contoso.com")["id"], directory.user("dan@contoso.com")["id"]
    assert state.consumed[SALES] == 2  # ann direct + bob inherited; dan has no unit left
    assert state.states[bob][0]["assignedByGroup"] == group["id"] and state.holds(bob, SALES)
    assert state.states[dan][0]["error"] == "CountViolation" and not state.holds(dan, SALES)
    assert [d["skuPartNumber"] for d in directory.licence_details(bob)] == ["SALES"]
    assert "inherited" in error_of(directory.assign_user_licence, bob,
                                   {"addLicenses": [], "removeLicenses": [SALES]}).message
    skus = directory.subscribed_skus()
    assert skus[0]["consumedUnits"] == 2 and skus[0]["prepaidUnits"]["enabled"] == 2


def test_members(directory):
    group = directory.groups()[0]
    ann = directory.user("ann@contoso.com")["id"]
    directory.add_member(group["id"], f"https://graph.microsoft.com/v1.0/directoryObjects/{ann}")
    assert "already exist" in error_of(directory.add_member, group["id"], f"/directoryObjects/{ann}").message
    directory.remove_member(group["id"], ann)
    assert error_of(directory.remove_member, group["id"], ann).status == 404
    assert error_of(directory.add_member, group["id"], "/directoryObjects/nope").status == 404


def test_delete_user_frees_units_and_memberships(directory):
    directory.delete_user("ann@contoso.com")
    assert directory.licence_state().consumed[SALES] == 0
    assert directory.find_user("ann@contoso.com") is None


def test_bulk_seed_is_fast():
    started = time.monotonic()
    d = Directory(Store(), TENANT)
    seed_directory(d, {"domains": ["contoso.com"]}, {"generatedUsers": 2000})
    assert len(d.users()) == 2000 and d.find_user("user2000@contoso.com")["usageLocation"] == "US"
    assert time.monotonic() - started < 5


def test_application_secrets_are_hashed(writes):
    apps = Apps(Store(), TENANT, on_write=writes)
    app = apps.create_application({"displayName": "integration"})
    secret = apps.add_password(app["id"], {"passwordCredential": {"displayName": "ci"}})
    stored = apps.application(app["id"])["passwordCredentials"][0]
    assert stored["_secretSha256"] == secret_sha256(secret["secretText"]) and "secretText" not in stored
    assert secret["hint"] == secret["secretText"][:3]
    view = apps.application_view(apps.application(app["id"]))
    assert "_secretSha256" not in str(view) and view["passwordCredentials"][0]["secretText"] is None
    apps.remove_password(app["id"], {"keyId": secret["keyId"]})
    assert apps.application(app["id"])["passwordCredentials"] == []


def test_federated_credentials_rules():
    apps = Apps(Store(), TENANT)
    app = apps.create_application({"displayName": "integration"})
    fic = {"name": "main", "issuer": "https://token.actions.githubusercontent.com", "subject": "repo:x/y:ref:main",
           "audiences": ["api://AzureADTokenExchange"]}
    apps.create_federated_credential(app["id"], fic)
    assert error_of(apps.create_federated_credential, app["id"], {**fic, "name": "other"}).status == 409
    assert error_of(apps.update_federated_credential, app["id"], "main", {"name": "renamed"}).status == 400
    for n in range(19):
        apps.create_federated_credential(app["id"], {**fic, "name": f"n{n:02d}", "subject": f"s{n}"})
    assert "Maximum" in error_of(apps.create_federated_credential, app["id"], {**fic, "name": "n99", "subject": "z"}).message


def test_service_principals_and_assignments():
    store = Store()
    apps = Apps(store, TENANT)
    resource = apps.service_principal(apps.create_service_principal(
        {"appId": apps.create_application({"displayName": "api", "appRoles": [
            {"id": "11111111-1111-1111-1111-111111111111", "value": "Do.All", "allowedMemberTypes": ["Application"]}]}
        )["appId"]})["id"])
    client = apps.create_service_principal({"appId": apps.create_application({"displayName": "client"})["appId"]})
    assert error_of(apps.create_service_principal, {"appId": client["appId"]}).status == 409
    assert "valid application" in error_of(apps.create_service_principal,
                                           {"appId": "00000000-0000-0000-0000-00000000000a"}).message
    body = {"principalId": client["id"], "resourceId": resource["id"], "appRoleId": "11111111-1111-1111-1111-111111111111"}
    assignment = apps.create_assignment(body, principal=client["id"])
    assert error_of(apps.create_assignment, body, client["id"]).message == \
        "Permission being assigned already exists on the object."
    assert apps.assignments_to(resource["id"])[0]["id"] == assignment["id"]
    grant = apps.create_grant({"clientId": client["id"], "consentType": "AllPrincipals", "resourceId": resource["id"],
                               "scope": "User.Read"})
    assert error_of(apps.create_grant, {"clientId": client["id"], "consentType": "AllPrincipals",
                                        "resourceId": resource["id"]}).status == 409
    apps.update_grant(grant["id"], {"scope": "User.Read Mail.Read"})
    apps.delete_service_principal(client["id"])
    assert apps.assignments_to(resource["id"]) == [] and apps.grants() == []


def test_seed_names_unknown_licences_and_members():
    with pytest.raises(ValueError, match="unknown licence NOPE"):
        seed_directory(Directory(Store(), TENANT), {"domains": ["contoso.com"]},
                                        {"users": [{"userPrincipalName": "a@contoso.com", "licenses": ["NOPE"]}]})
    with pytest.raises(ValueError, match="unknown members zed@contoso.com"):
        seed_directory(Directory(Store(), TENANT), {"domains": ["contoso.com"]},
                                        {"groups": [{"displayName": "G", "mailNickname": "g",
                                                     "members": ["zed@contoso.com"]}]})


def test_one_users_licence_states_match_the_whole_allocation(directory):
    """The lazy per-user path (no licensed group) and the full allocation answer the same."""
    ann = directory.user("ann@contoso.com")
    state = directory.licence_state()
    one = state.states_of(ann["id"], ann)    # from ann's document alone
    assert state.holds(ann["id"], SALES) and state.effective(ann["id"]) == [{"disabledPlans": [], "skuId": SALES}]
    assert one == state.states_of(ann["id"]) == state.states[ann["id"]]   # the same from the whole allocation
    bob = directory.user("bob@contoso.com")
    assert directory.licence_state().states_of(bob["id"], bob) == []


def test_licence_assignments_for_thousands_of_users_cost_no_scan_of_all_users():
    """assignLicense checks the SKU's free units (consumed = enabled + warning units in use,
    https://learn.microsoft.com/graph/api/user-assignlicense and .../resources/subscribedsku) on every call; the
    sandbox answers that from a running tally, not by recounting every user, so 2,000 assignments stay far below
    the O(N^2) cost they had (about 8 s here) and the last unit is still refused."""
    d = Directory(Store(), TENANT)
    seed = {**GRAPH_SEED, "users": [], "groups": [], "generatedUsers": 2000}
    seed["skus"] = [{**GRAPH_SEED["skus"][0], "prepaidUnits": 1999}]
    seed_directory(d, {"domains": ["contoso.com"], "displayName": "Contoso"}, seed)
    users = [u["id"] for u in d.users()]
    started = time.perf_counter()
    for user in users[:-1]:
        d.assign_user_licence(user, {"addLicenses": [{"skuId": SALES}], "removeLicenses": []})
    assert time.perf_counter() - started < 3
    assert d.licence_state().consumed[SALES] == 1999
    assert "does not have any available licenses" in error_of(
        d.assign_user_licence, users[-1], {"addLicenses": [{"skuId": SALES}], "removeLicenses": []}).message
