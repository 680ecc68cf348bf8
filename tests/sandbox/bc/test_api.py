"""Business Central API v2.0 on the sandbox: companies, companyInformation, salespeoplePurchasers, auth."""
import pytest

pytestmark = pytest.mark.sandbox

BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
COMPANY = "9a1b2c3d-0000-4000-8000-00000000c001"


@pytest.fixture(scope="module")
def bc(sandbox):
    session = sandbox.session()
    session.headers["Authorization"] = "Bearer " + sandbox.admin_token(BC_SCOPE)
    session.base = sandbox.endpoints["business_central"]
    return session


def test_companies_and_company_information(bc):
    companies = bc.get(f"{bc.base}/companies").json()
    assert companies["@odata.context"].endswith("/api/v2.0/$metadata#companies")
    assert [(c["id"], c["name"]) for c in companies["value"]] == [(COMPANY, "CRONUS USA, Inc.")]
    one = bc.get(f"{bc.base}/companies({COMPANY})").json()
    assert one["name"] == "CRONUS USA, Inc." and "@odata.etag" in one
    info = bc.get(f"{bc.base}/companies({COMPANY})/companyInformation").json()
    assert [i["currencyCode"] for i in info["value"]] == ["USD"]


def test_salespersons_filter_select_and_get_by_id(bc):
    everyone = bc.get(f"{bc.base}/companies({COMPANY})/salespeoplePurchasers").json()["value"]
    assert {s["code"] for s in everyone} == {"AH", "BK", "JR"}
    active = bc.get(f"{bc.base}/companies({COMPANY})/salespeoplePurchasers",
                    params={"$filter": "blocked eq false", "$select": "code,email"}).json()["value"]
    assert sorted(s["code"] for s in active) == ["AH", "BK"]
    assert all(set(s) == {"@odata.etag", "code", "email"} for s in active)
    by_email = bc.get(f"{bc.base}/companies({COMPANY})/salespeoplePurchasers",
                      params={"$filter": "email eq 'ANN@contoso.com'"}).json()["value"]
    assert [s["code"] for s in by_email] == ["AH"]
    one = bc.get(f"{bc.base}/companies({COMPANY})/salespeoplePurchasers({by_email[0]['id']})").json()
    assert one["displayName"] == "Annette Hill" and "companyId" not in one


@pytest.mark.parametrize("path, status, code", [
    (f"/companies(00000000-0000-4000-8000-000000000000)", 404, "BadRequest_NotFound"),
    (f"/companies(not-a-guid)/salespeoplePurchasers", 400, "BadRequest"),
    (f"/companies({COMPANY})/salespeoplePurchasers(00000000-0000-4000-8000-000000000000)", 404, "BadRequest_NotFound"),
    pytest.param(f"/companies({COMPANY})/nothingHere", 404, "BadRequest_ResourceNotFound", marks=pytest.mark.refuses),
])
def test_bc_error_bodies(bc, path, status, code):
    response = bc.get(bc.base + path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and "CorrelationId" in error["message"]


def test_bad_filter_is_400(bc):
    response = bc.get(f"{bc.base}/companies({COMPANY})/salespeoplePurchasers", params={"$filter": "code eq"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "BadRequest"


def test_unknown_environment(bc, sandbox):
    url = bc.base.replace("/Production/", "/Nowhere/") + "/companies"
    response = bc.get(url)
    assert response.status_code == 404


def test_graph_token_is_rejected_by_bc(sandbox, bc):
    session = sandbox.session()
    session.headers["Authorization"] = "Bearer " + sandbox.admin_token("https://graph.microsoft.com/.default")
    response = session.get(f"{bc.base}/companies")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Authentication_InvalidCredentials"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture(scope="module")
def bc_private(tmp_path_factory):
    """Writes go to a module-private sandbox: the shared one keeps the seeded salespersons."""
    from tests.sandboxkit import start_sandbox

    running = start_sandbox(tmp_path_factory.mktemp("bc") / "data")
    session = running.session()
    session.headers["Authorization"] = "Bearer " + running.admin_token(BC_SCOPE)
    session.base = running.endpoints["business_central"] + f"/companies({COMPANY})/salespeoplePurchasers"
    session.running = running
    try:
        yield session
    finally:
        running.stop()


def test_salesperson_create_update_delete_with_etags(bc_private):
    bc, running = bc_private, bc_private.running
    running.reset_metrics()
    created = bc.post(bc.base, json={"code": "cd", "displayName": "Carla Diaz", "email": "carla@contoso.com"})
    assert created.status_code == 201 and created.json()["code"] == "CD"
    item = created.json()
    url = f"{bc.base}({item['id']})"
    duplicate = bc.post(bc.base, json={"code": "CD"})
    assert duplicate.status_code == 400 and duplicate.json()["error"]["code"] == "Internal_EntityWithSameKeyExists"
    assert bc.patch(url, json={"blocked": True}).status_code == 400                     # no If-Match
    updated = bc.patch(url, json={"blocked": True}, headers={"If-Match": item["@odata.etag"]})
    assert updated.status_code == 200 and updated.json()["blocked"] is True
    stale = bc.patch(url, json={"blocked": False}, headers={"If-Match": item["@odata.etag"]})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "Request_EntityChanged"
    same = bc.patch(url, json={"blocked": True}, headers={"If-Match": "*"})
    assert same.status_code == 200
    assert bc.patch(url, json={"id": "x"}, headers={"If-Match": "*"}).status_code == 400
    assert bc.delete(url, headers={"If-Match": updated.json()["@odata.etag"]}).status_code == 204
    assert bc.get(url).status_code == 404
    metrics = running.metrics()
    assert metrics["writes"] == 3  # create, the one real update, delete (the no-change PATCH writes nothing)
