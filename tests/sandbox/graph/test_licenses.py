"""Graph licences over HTTPS on a private sandbox (few units, 1,200 generated users): assignLicense rules,
group-based licensing, consumedUnits, licenseDetails, paging at scale and write counting."""
import time

import pytest

from tests.sandbox.graph.graphkit import BC_SKU, SALES_PLAN, SALES_SKU, error_of, eventually, graph, seed_file
from tests.sandboxkit import follow_next_links
from tests.sandboxkit import start_sandbox

pytestmark = pytest.mark.sandbox

SKUS = [
    {"skuPartNumber": "DYN365_ENTERPRISE_SALES", "skuId": SALES_SKU, "prepaidUnits": 3,
     "servicePlans": [{"servicePlanId": SALES_PLAN, "servicePlanName": "DYN365_ENTERPRISE_SALES"},
                      {"servicePlanId": "17ab22cd-a0b3-4536-910a-cb6eb12696c0", "servicePlanName": "DYN365_CDS_DYN_APPS"}]},
    {"skuPartNumber": "DYN365_BUSCENTRAL_ESSENTIAL", "skuId": BC_SKU, "prepaidUnits": 2000,
     "servicePlans": [{"servicePlanId": "920656a2-7dd8-4c83-97b6-a356414dbd36",
                       "servicePlanName": "DYN365_FINANCIALS_BUSINESS"}]},
]
GENERATED = 1200


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("graph-licences")
    started = time.monotonic()
    running = start_sandbox(tmp / "data", seed=seed_file(tmp, skus=SKUS, generatedUsers=GENERATED))
    running.startup_seconds = time.monotonic() - started
    yield running
    running.stop()


@pytest.fixture(scope="module")
def g(private):
    return graph(private)


def add(sku, plans=()):
    return {"addLicenses": [{"skuId": sku, "disabledPlans": list(plans)}], "removeLicenses": []}


def consumed(g, sku):
    return next(s["consumedUnits"] for s in g.get("/subscribedSkus").json()["value"] if s["skuId"] == sku)


def test_seeded_licences_and_generated_users(g, private):
    assert private.startup_seconds < 30
    skus = {s["skuPartNumber"]: s for s in g.get("/subscribedSkus").json()["value"]}
    assert skus["DYN365_BUSCENTRAL_ESSENTIAL"]["consumedUnits"] == 3  # ann, bob, carla (seeded)
    assert skus["DYN365_ENTERPRISE_SALES"]["prepaidUnits"]["enabled"] == 3
    user = g.get("/users/user1200@contoso.com", params={"$select": "usageLocation,displayName"}).json()
    assert user["usageLocation"] == "US"


def test_paging_across_pages_at_scale(g):
    bodies = [r.json() for r in follow_next_links(g, "/users?$select=id&$top=999")]
    ids, pages = [u["id"] for body in bodies for u in body["value"]], len(bodies)
    assert pages == 2 and len(ids) == len(set(ids)) == GENERATED + 6
    first = g.get("/users").json()
    assert len(first["value"]) == 100 and "$skiptoken=" in first["@odata.nextLink"]
    counted = g.get("/users", params={"$count": "true", "$top": "1", "$filter": "startswith(userPrincipalName,'user1')"},
                    headers={"ConsistencyLevel": "eventual"}).json()
    assert counted["@odata.count"] == 201 and len(counted["value"]) == 1  # user1000 .. user1200


def test_assign_licence_to_a_user(g, private):
    private.reset_metrics()
    response = g.post("/users/user0001@contoso.com/assignLicense", json=add(SALES_SKU, [SALES_PLAN]))
    assert response.status_code == 200, response.text
    assert response.json()["userPrincipalName"] == "user0001@contoso.com"
    user = g.get("/users/user0001@contoso.com",
                 params={"$select": "assignedLicenses,licenseAssignmentStates"}).json()
    assert user["assignedLicenses"] == [{"disabledPlans": [SALES_PLAN], "skuId": SALES_SKU}]
    assert user["licenseAssignmentStates"][0]["assignedByGroup"] is None
    details = g.get("/users/user0001@contoso.com/licenseDetails").json()["value"]
    plans = {p["servicePlanName"]: p["provisioningStatus"] for p in details[0]["servicePlans"]}
    assert details[0]["skuPartNumber"] == "DYN365_ENTERPRISE_SALES"
    assert plans == {"DYN365_ENTERPRISE_SALES": "Disabled", "DYN365_CDS_DYN_APPS": "Success"}
    assert g.post("/users/user0001@contoso.com/assignLicense", json=add(SALES_SKU, [SALES_PLAN])).status_code == 200
    assert private.metrics()["writes"] == 1  # the same assignment again is no change
    assert consumed(g, SALES_SKU) == 1


def test_assign_licence_errors(g):
    no_location = error_of(g.post("/users/dan@contoso.com/assignLicense", json=add(SALES_SKU)), 400)
    assert no_location == {**no_location, "code": "Request_BadRequest",
                           "message": "License assignment cannot be done for user with invalid usage location."}
    unknown = error_of(g.post("/users/ann@contoso.com/assignLicense",
                              json=add("00000000-0000-0000-0000-0000000000ff")), 400)
    assert unknown["code"] == "Request_BadRequest"
    bad_plan = error_of(g.post("/users/ann@contoso.com/assignLicense",
                               json=add(SALES_SKU, ["00000000-0000-0000-0000-0000000000ee"])), 400)
    assert bad_plan["code"] == "Request_BadRequest"
    missing = error_of(g.post("/users/ann@contoso.com/assignLicense", json={"addLicenses": []}), 400)
    assert missing["message"].endswith("The missing parameters are: removeLicenses.")
    assert error_of(g.post("/users/nobody@contoso.com/assignLicense", json=add(SALES_SKU)), 404)


def test_units_run_out(g):
    for n in (2, 3, 4):
        g.post(f"/users/user000{n}@contoso.com/assignLicense",
               json={"addLicenses": [], "removeLicenses": [SALES_SKU]}).raise_for_status()
    assert g.post("/users/user0002@contoso.com/assignLicense", json=add(SALES_SKU)).status_code == 200
    assert g.post("/users/user0003@contoso.com/assignLicense", json=add(SALES_SKU)).status_code == 200
    assert consumed(g, SALES_SKU) == 3
    full = error_of(g.post("/users/user0004@contoso.com/assignLicense", json=add(SALES_SKU)), 400)
    assert full["message"] == f"Subscription with SKU {SALES_SKU} does not have any available licenses."
    for n in (2, 3):
        g.post(f"/users/user000{n}@contoso.com/assignLicense",
               json={"addLicenses": [], "removeLicenses": [SALES_SKU]}).raise_for_status()
    assert consumed(g, SALES_SKU) == 1


def test_group_based_licences_reach_members(g, private):
    """Group-based licensing runs in the background: "This process might take some time, varying with the size of
    the group" (https://learn.microsoft.com/entra/identity/users/licensing-groups-assign); the group shows the
    licence at once, its members only after the seed's groupLicensing delay."""
    member_ids = [g.get(f"/users/user00{n}@contoso.com").json()["id"] for n in (10, 11, 12)]
    group = g.post("/groups", json={
        "displayName": "Sales licences", "mailEnabled": False, "mailNickname": "saleslicences", "securityEnabled": True,
        "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{i}" for i in member_ids]}).json()
    accepted = g.post(f"/groups/{group['id']}/assignLicense", json=add(SALES_SKU))
    assert accepted.status_code == 202, accepted.text
    assert consumed(g, SALES_SKU) == 1  # not processed yet: only user0001's direct licence
    assert eventually(lambda: consumed(g, SALES_SKU) == 3)  # + two members; the third has no unit left
    states = [g.get(f"/users/{i}", params={"$select": "licenseAssignmentStates,assignedLicenses"}).json()
              for i in member_ids]
    assert [s["licenseAssignmentStates"][0]["state"] for s in states] == ["Active", "Active", "Error"]
    assert states[2]["licenseAssignmentStates"][0]["error"] == "CountViolation"
    assert all(s["licenseAssignmentStates"][0]["assignedByGroup"] == group["id"] for s in states)
    assert states[0]["assignedLicenses"] == [{"disabledPlans": [], "skuId": SALES_SKU}]
    assert g.get(f"/users/{member_ids[0]}/licenseDetails").json()["value"][0]["skuId"] == SALES_SKU
    inherited = error_of(g.post(f"/users/{member_ids[0]}/assignLicense",
                                json={"addLicenses": [], "removeLicenses": [SALES_SKU]}), 400)
    assert "inherited" in inherited["message"]
    selected = g.get(f"/groups/{group['id']}", params={"$select": "id,assignedLicenses"}).json()
    assert selected["assignedLicenses"] == [{"disabledPlans": [], "skuId": SALES_SKU}]
    assert "assignedLicenses" not in g.get(f"/groups/{group['id']}").json()
    g.post(f"/groups/{group['id']}/assignLicense",
           json={"addLicenses": [], "removeLicenses": [SALES_SKU]}).raise_for_status()
    assert consumed(g, SALES_SKU) == 1
    filtered = g.get("/users", params={"$filter": f"assignedLicenses/any(x:x/skuId eq {SALES_SKU})",
                                       "$select": "userPrincipalName"}).json()["value"]
    assert [u["userPrincipalName"] for u in filtered] == ["user0001@contoso.com"]


def test_concurrent_assignments_never_oversubscribe(g):
    from concurrent.futures import ThreadPoolExecutor

    left = 3 - consumed(g, SALES_SKU)
    upns = [f"user00{n}@contoso.com" for n in range(20, 28)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda upn: g.post(f"/users/{upn}/assignLicense", json=add(SALES_SKU)).status_code,
                                 upns))
    assert statuses.count(200) == left and statuses.count(400) == len(upns) - left
    assert consumed(g, SALES_SKU) == 3
