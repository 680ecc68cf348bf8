"""Graph users over HTTPS on the shared sandbox: create/get/patch/delete, Graph's errors, queries, permissions."""
import pytest

from tests.sandbox.graph.graphkit import error_of, graph, new_user_body, reader, unique
from tests.sandboxkit import follow_next_links

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def g(sandbox):
    return graph(sandbox)


def test_user_lifecycle(g, sandbox):
    nick = unique("eve")
    created = g.post("/users", json=new_user_body(nick, usageLocation="DK"))
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["userPrincipalName"] == f"{nick}@contoso.com" and "usageLocation" not in user
    assert "passwordProfile" not in user and "Pa55word" not in created.text
    by_upn = g.get(f"/users/{nick.upper()}@contoso.com").json()
    assert by_upn["id"] == user["id"]
    selected = g.get(f"/users/{user['id']}", params={"$select": "id,usageLocation,accountEnabled"}).json()
    assert selected["usageLocation"] == "DK" and selected["accountEnabled"] is True and "displayName" not in selected
    sandbox.reset_metrics()
    assert g.patch(f"/users/{user['id']}", json={"usageLocation": "US"}).status_code == 204
    assert g.patch(f"/users/{user['id']}", json={"usageLocation": "US"}).status_code == 204
    assert sandbox.metrics()["writes"] == 1  # the second PATCH changed nothing
    assert g.get(f"/users/{user['id']}", params={"$select": "usageLocation"}).json()["usageLocation"] == "US"
    assert g.delete(f"/users/{user['id']}").status_code == 204
    missing = error_of(g.get(f"/users/{user['id']}"), 404)
    assert missing["code"] == "Request_ResourceNotFound"
    assert missing["message"] == (f"Resource '{user['id']}' does not exist or one of its queried "
                                  "reference-property objects are not present.")


@pytest.mark.refuses   # unknown properties on purpose
def test_create_user_errors(g):
    nick = unique("dup")
    assert g.post("/users", json=new_user_body(nick)).status_code == 201
    duplicate = error_of(g.post("/users", json=new_user_body(nick)), 400)
    assert duplicate == {**duplicate, "code": "Request_BadRequest",
                         "message": "Another object with the same value for property userPrincipalName already exists."}
    weak = new_user_body(unique("weak"))
    weak["passwordProfile"]["password"] = "password"
    assert "password complexity" in error_of(g.post("/users", json=weak), 400)["message"]
    missing = new_user_body(unique("nopass"))
    del missing["passwordProfile"]
    assert error_of(g.post("/users", json=missing), 400)["message"] == \
        "Invalid value specified for property 'passwordProfile' of resource 'User'."
    foreign = new_user_body(unique("x"), userPrincipalName="x@fabrikam.com")
    assert "verified domain" in error_of(g.post("/users", json=foreign), 400)["message"]
    assert error_of(g.post("/users", data="{not json", headers={"Content-Type": "application/json"}), 400)
    assert error_of(g.patch("/users/ann@contoso.com", json={"shoeSize": 42}), 400)["message"] == \
        "Property 'shoeSize' does not exist as a declared property or extension property."


@pytest.mark.refuses   # unknown properties on purpose
def test_list_filters_select_and_count(g):
    by_eq = g.get("/users", params={"$filter": "userPrincipalName eq 'ANN@contoso.com'"}).json()["value"]
    assert [u["displayName"] for u in by_eq] == ["Ann Berg"]
    starts = g.get("/users", params={"$filter": "startswith(displayName,'b')", "$select": "id,displayName"}).json()
    assert {u["displayName"] for u in starts["value"]} >= {"Bob Kane", "BC Sales integration"}
    assert all(set(u) == {"id", "displayName"} for u in starts["value"])
    within = g.get("/users", params={"$filter": "userPrincipalName in ('ann@contoso.com','bob@contoso.com')"}).json()
    assert len(within["value"]) == 2
    located = g.get("/users", params={"$filter": "usageLocation eq 'DK'", "$select": "userPrincipalName"}).json()
    assert [u["userPrincipalName"] for u in located["value"]] == ["carla@contoso.com"]
    assert error_of(g.get("/users", params={"$top": "1000"}), 400)["message"] == \
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    assert error_of(g.get("/users", params={"$count": "true"}), 400)
    assert error_of(g.get("/users", params={"$filter": "endswith(userPrincipalName,'@contoso.com')"}), 400)
    advanced = g.get("/users", params={"$count": "true", "$filter": "endswith(userPrincipalName,'@contoso.com')"},
                     headers={"ConsistencyLevel": "eventual"}).json()
    assert advanced["@odata.count"] == len(advanced["value"]) >= 6
    assert error_of(g.get("/users", params={"$select": "id,shoeSize"}), 400)["message"] == \
        "Parsing OData Select and Expand failed: Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."


def test_paging_follows_next_links(g):
    bodies = [r.json() for r in follow_next_links(g, "/users?$top=2&$select=id")]
    seen, pages = [u["id"] for body in bodies for u in body["value"]], len(bodies)
    assert all(set(u) == {"id"} for body in bodies for u in body["value"])
    assert len(seen) == len(set(seen)) >= 6 and pages == (len(seen) + 1) // 2


def test_groups_and_members(g):
    ann = g.get("/users/ann@contoso.com").json()["id"]
    bob = g.get("/users/bob@contoso.com").json()["id"]
    body = {"displayName": "Reviewers", "mailEnabled": False, "mailNickname": unique("rev"), "securityEnabled": True,
            "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{ann}"]}
    created = g.post("/groups", json=body)
    assert created.status_code == 201, created.text
    group = created.json()["id"]
    members = g.get(f"/groups/{group}/members").json()["value"]
    assert [(m["@odata.type"], m["id"]) for m in members] == [("#microsoft.graph.user", ann)]
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{bob}"}
    assert g.post(f"/groups/{group}/members/$ref", json=ref).status_code == 204
    assert error_of(g.post(f"/groups/{group}/members/$ref", json=ref), 400)["message"] == \
        "One or more added object references already exist for the following modified properties: 'members'."
    assert g.delete(f"/groups/{group}/members/{bob}/$ref").status_code == 204
    assert error_of(g.delete(f"/groups/{group}/members/{bob}/$ref"), 404)["code"] == "Request_ResourceNotFound"
    nobody = {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-0000000000aa"}
    assert error_of(g.post(f"/groups/{group}/members/$ref", json=nobody), 404)
    listed = g.get("/groups", params={"$filter": f"mailNickname eq '{body['mailNickname']}'"}).json()["value"]
    assert [x["id"] for x in listed] == [group]
    assert g.delete(f"/groups/{group}").status_code == 204
    assert error_of(g.get(f"/groups/{group}"), 404)


def test_tenant_reads(g):
    assert [d["id"] for d in g.get("/domains").json()["value"]] == ["contoso.com"]
    org = g.get("/organization").json()["value"][0]
    assert org["verifiedDomains"][0]["name"] == "contoso.com" and org["id"]


def test_permissions_come_from_the_token(sandbox):
    r = reader(sandbox)
    assert r.get("/users/ann@contoso.com").status_code == 200  # User.Read.All
    denied = error_of(r.post("/users", json=new_user_body(unique("no"))), 403)
    assert denied["code"] == "Authorization_RequestDenied"
    assert denied["message"] == "Insufficient privileges to complete the operation."
    assert error_of(r.get("/subscribedSkus"), 403)
    assert error_of(r.get("/applications"), 403)
    assert error_of(r.post("/users/ann@contoso.com/assignLicense", json={"addLicenses": [], "removeLicenses": []}), 403)


def test_token_is_required(sandbox):
    anonymous = graph(sandbox)
    del anonymous.headers["Authorization"]
    assert error_of(anonymous.get("/users"), 401)["code"] == "InvalidAuthenticationToken"
    wrong = graph(sandbox)
    wrong.headers["Authorization"] = "Bearer " + sandbox.admin_token(sandbox.endpoints["dataverse"] + "/.default")
    assert error_of(wrong.get("/users"), 401)["code"] == "InvalidAuthenticationToken"


def test_selected_properties_without_a_value_are_null(g):
    dan = g.get("/users/dan@contoso.com", params={"$select": "id,usageLocation,userType,jobTitle"}).json()
    assert dan["usageLocation"] is None and dan["userType"] == "Member" and dan["jobTitle"] is None
