"""Graph app registrations over HTTPS on the shared sandbox: secrets that the token endpoint then accepts,
certificates, federated credentials, service principals, app role assignments that reach the token, grants."""
import base64
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.sandbox.graph.graphkit import (GRAPH_APP_ID, Graph, create_service_principal, error_of, graph, token_for,
                                         unique)

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def g(sandbox):
    return graph(sandbox)


def certificate() -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bcsi test")])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))


def test_application_secret_works_at_the_token_endpoint_until_removed(g, sandbox):
    app = g.post("/applications", json={"displayName": unique("app-")})
    assert app.status_code == 201, app.text
    app = app.json()
    assert g.get(f"/applications(appId='{app['appId']}')").json()["id"] == app["id"]
    added = g.post(f"/applications/{app['id']}/addPassword", json={"passwordCredential": {"displayName": "ci"}})
    assert added.status_code == 200, added.text
    secret = added.json()
    start = datetime.fromisoformat(secret["startDateTime"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(secret["endDateTime"].replace("Z", "+00:00"))
    assert (end - start).days == 730 and secret["hint"] == secret["secretText"][:3]
    listed = g.get(f"/applications/{app['id']}").json()["passwordCredentials"]
    assert [c["keyId"] for c in listed] == [secret["keyId"]] and listed[0]["secretText"] is None
    assert secret["secretText"] not in g.get(f"/applications/{app['id']}").text
    assert token_for(sandbox, app["appId"], secret["secretText"])["error_codes"] == [7000229]  # no SP yet
    assert create_service_principal(g, app["appId"]).status_code == 201
    assert "access_token" in token_for(sandbox, app["appId"], secret["secretText"])
    removed = g.post(f"/applications/{app['id']}/removePassword", json={"keyId": secret["keyId"]})
    assert removed.status_code == 204
    assert token_for(sandbox, app["appId"], secret["secretText"]).get("error") == "invalid_client"
    assert g.patch(f"/applications/{app['id']}", json={"notes": "patched"}).status_code == 204
    assert error_of(g.patch(f"/applications/{app['id']}", json={"passwordCredentials": []}), 400)
    assert g.delete(f"/applications/{app['id']}").status_code == 204
    assert error_of(g.get(f"/applications/{app['id']}"), 404)["code"] == "Request_ResourceNotFound"


def test_certificate_key_credentials(g):
    app = g.post("/applications", json={"displayName": unique("cert-")}).json()
    cert = certificate()
    key = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    patched = g.patch(f"/applications/{app['id']}", json={"keyCredentials": [
        {"type": "AsymmetricX509Cert", "usage": "Verify", "key": key, "displayName": "pipeline"}]})
    assert patched.status_code == 204, patched.text
    creds = g.get(f"/applications/{app['id']}").json()["keyCredentials"]
    assert creds[0]["customKeyIdentifier"] == cert.fingerprint(hashes.SHA1()).hex().upper()
    assert error_of(g.patch(f"/applications/{app['id']}", json={"keyCredentials": [
        {"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm90IGEgY2VydA=="}]}), 400)
    g.delete(f"/applications/{app['id']}")


def test_federated_identity_credentials(g):
    app = g.post("/applications", json={"displayName": unique("fic-")}).json()
    base = f"/applications/{app['id']}/federatedIdentityCredentials"
    fic = {"name": "main", "issuer": "https://token.actions.githubusercontent.com",
           "subject": "repo:contoso/bcsi:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]}
    created = g.post(base, json=fic)
    assert created.status_code == 201, created.text
    assert g.get(f"{base}/{created.json()['id']}").json()["subject"] == fic["subject"]
    assert error_of(g.post(base, json={**fic, "name": "again"}), 409)  # issuer + subject are unique
    assert error_of(g.patch(f"{base}/{created.json()['id']}", json={"name": "renamed"}), 400)
    assert g.patch(f"{base}/main", json={"subject": "repo:contoso/bcsi:environment:prod"}).status_code == 204
    for n in range(19):
        g.post(base, json={**fic, "name": f"n{n:02d}", "subject": f"s{n}"}).raise_for_status()
    assert "Maximum" in error_of(g.post(base, json={**fic, "name": "n99", "subject": "s99"}), 400)["message"]
    assert len(g.get(base).json()["value"]) == 20
    assert g.delete(f"{base}/main").status_code == 204
    assert error_of(g.get(f"{base}/main"), 404)
    g.delete(f"/applications/{app['id']}")


def test_service_principal_role_assignment_reaches_the_token(g, sandbox):
    app = g.post("/applications", json={"displayName": unique("sp-")}).json()
    secret = g.post(f"/applications/{app['id']}/addPassword", json={}).json()["secretText"]
    sp = create_service_principal(g, app["appId"])
    assert sp.status_code == 201, sp.text
    sp = sp.json()
    assert error_of(g.post("/servicePrincipals", json={"appId": app["appId"]}), 409)
    assert "valid application" in error_of(
        g.post("/servicePrincipals", json={"appId": "00000000-0000-0000-0000-0000000000bb"}), 400)["message"]
    graph_sp = g.get("/servicePrincipals", params={"$filter": f"appId eq '{GRAPH_APP_ID}'"}).json()["value"][0]
    role = next(r for r in graph_sp["appRoles"] if r["value"] == "User.Read.All")
    before = Graph(sandbox, token_for(sandbox, app["appId"], secret)["access_token"])
    assert error_of(before.get("/users/ann@contoso.com"), 403)
    body = {"principalId": sp["id"], "resourceId": graph_sp["id"], "appRoleId": role["id"]}
    assignment = g.post(f"/servicePrincipals/{sp['id']}/appRoleAssignments", json=body)
    assert assignment.status_code == 201, assignment.text
    assert error_of(g.post(f"/servicePrincipals/{sp['id']}/appRoleAssignments", json=body), 400)["message"] == \
        "Permission being assigned already exists on the object."
    assert error_of(g.post(f"/servicePrincipals/{sp['id']}/appRoleAssignments",
                           json={**body, "appRoleId": "00000000-0000-0000-0000-0000000000cc"}), 400)
    assigned_to = g.get(f"/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo").json()["value"]
    assert assignment.json()["id"] in [a["id"] for a in assigned_to]
    after = sandbox.msal_app(app["appId"], secret).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert Graph(sandbox, after["access_token"]).get("/users/ann@contoso.com").status_code == 200
    assert g.delete(f"/servicePrincipals/{sp['id']}/appRoleAssignments/{assignment.json()['id']}").status_code == 204
    assert g.get(f"/servicePrincipals/{sp['id']}/appRoleAssignments").json()["value"] == []
    grant = g.post("/oauth2PermissionGrants", json={"clientId": sp["id"], "consentType": "AllPrincipals",
                                                   "resourceId": graph_sp["id"], "scope": "User.Read"})
    assert grant.status_code == 201, grant.text
    assert error_of(g.post("/oauth2PermissionGrants", json={"clientId": sp["id"], "consentType": "AllPrincipals",
                                                           "resourceId": graph_sp["id"], "scope": "x"}), 409)
    grant_id = grant.json()["id"]
    assert g.patch(f"/oauth2PermissionGrants/{grant_id}", json={"scope": "User.Read Group.Read.All"}).status_code == 204
    listed = g.get("/oauth2PermissionGrants", params={"$filter": f"clientId eq '{sp['id']}'"}).json()["value"]
    assert [x["scope"] for x in listed] == ["User.Read Group.Read.All"]
    assert g.delete(f"/oauth2PermissionGrants/{grant_id}").status_code == 204
    assert g.delete(f"/applications/{app['id']}").status_code == 204
    assert error_of(g.get(f"/servicePrincipals/{sp['id']}"), 404)
