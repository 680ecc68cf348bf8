"""Entra ID on the sandbox: Microsoft's own clients get tokens; every AADSTS case answers like Entra;
services reject wrong-audience, expired and badly signed tokens with their real 401s."""
import base64
import datetime as dt
import hashlib
import time
import uuid

import jwt
import msal
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.ca import self_signed_cert
from tests.sandboxkit import start_sandbox

pytestmark = pytest.mark.sandbox

GRAPH = "https://graph.microsoft.com/.default"
BC = "https://api.businesscentral.dynamics.com/.default"
INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A sandbox of this module's own for tests that add credentials or change settings (the shared one stays as seeded)."""
    running = start_sandbox(tmp_path_factory.mktemp("identity") / "data")
    try:
        yield running
    finally:
        running.stop()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def token_request(sandbox, tenant=None, **form):
    tenant = tenant or sandbox.endpoints["tenant_id"]
    body = {"grant_type": "client_credentials", "client_id": sandbox.endpoints["client_id"],
            "client_secret": sandbox.endpoints["client_secret"], "scope": GRAPH}
    body.update(form)
    body = {k: v for k, v in body.items() if v is not None}
    return sandbox.session().post(f"/{tenant}/oauth2/v2.0/token", data=body)


def assert_aad_error(response, status, error, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "\r\nTrace ID: " in body["error_description"] and "\r\nCorrelation ID: " in body["error_description"]
    for field in ("timestamp", "trace_id", "correlation_id", "error_uri"):
        assert body[field]


# -- happy paths with Microsoft's clients ----------------------------------------------------------
def test_msal_tokens_for_graph_dataverse_and_bc(sandbox):
    app = sandbox.msal_app()
    graph = app.acquire_token_for_client([GRAPH])
    claims = claims_of(graph["access_token"])
    tid = sandbox.endpoints["tenant_id"]
    assert graph["token_type"] == "Bearer" and graph["expires_in"] == 3600
    assert claims["aud"] == "https://graph.microsoft.com" and claims["tid"] == tid
    assert claims["iss"] == f"https://sts.windows.net/{tid}/" and claims["appid"] == sandbox.endpoints["client_id"]
    assert {"User.ReadWrite.All", "LicenseAssignment.ReadWrite.All"} <= set(claims["roles"])
    assert jwt.get_unverified_header(graph["access_token"])["alg"] == "RS256"
    dataverse = claims_of(app.acquire_token_for_client([sandbox.endpoints["dataverse"] + "/.default"])["access_token"])
    assert dataverse["aud"] == sandbox.endpoints["dataverse"] and "roles" not in dataverse
    bc = claims_of(app.acquire_token_for_client([BC])["access_token"])
    assert bc["roles"] == ["API.ReadWrite.All"]


def test_token_signature_verifies_against_published_jwks(sandbox):
    session = sandbox.session()
    tid = sandbox.endpoints["tenant_id"]
    metadata = session.get(f"/{tid}/v2.0/.well-known/openid-configuration").json()
    for field in ("token_endpoint", "authorization_endpoint", "jwks_uri", "issuer", "device_authorization_endpoint",
                  "end_session_endpoint", "tenant_region_scope", "cloud_instance_name", "msgraph_host"):
        assert metadata[field]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["token_endpoint"] == sandbox.endpoints["authority"] + "/oauth2/v2.0/token"
    jwks = session.get(metadata["jwks_uri"]).json()
    token = sandbox.admin_token(GRAPH)
    key = next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert claims["exp"] > time.time()


def test_verified_domain_works_as_tenant(sandbox):
    response = token_request(sandbox, tenant="contoso.com")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store, no-cache"


def test_azure_identity_client_secret_credential(sandbox):
    from azure.identity import ClientSecretCredential

    credential = ClientSecretCredential(
        sandbox.endpoints["tenant_id"], sandbox.endpoints["client_id"], sandbox.endpoints["client_secret"],
        authority=sandbox.base_url, disable_instance_discovery=True, connection_verify=sandbox.ca_file)
    token = credential.get_token(GRAPH)
    assert claims_of(token.token)["appid"] == sandbox.endpoints["client_id"] and token.expires_on > time.time()


def test_client_secret_in_basic_auth(sandbox):
    session = sandbox.session()
    tid = sandbox.endpoints["tenant_id"]
    response = session.post(f"/{tid}/oauth2/v2.0/token", data={"grant_type": "client_credentials", "scope": GRAPH},
                            auth=(sandbox.endpoints["client_id"], sandbox.endpoints["client_secret"]))
    assert response.status_code == 200, response.text


def _certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed_cert(key, "bcsi test app", days=30)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key, key_pem, cert


def test_certificate_credential_with_msal_sha1_and_sha256_thumbprints(private):
    key, key_pem, cert = _certificate()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    added = private.session().post(f"/_sandbox/apps/{INTEGRATION_APP}/credentials",
                                   json={"keyCredential": {"certificate": cert_pem}})
    assert added.status_code == 201
    sha1 = cert.fingerprint(hashes.SHA1()).hex()
    app = private.msal_app(INTEGRATION_APP, {"private_key": key_pem, "thumbprint": sha1})
    result = app.acquire_token_for_client([GRAPH])
    assert "access_token" in result, result.get("error_description")
    assert claims_of(result["access_token"])["appidacr"] == "2"
    # a PS256 assertion with x5t#S256, as msal sends when it knows the certificate
    der = cert.public_bytes(serialization.Encoding.DER)
    token_endpoint = private.endpoints["authority"] + "/oauth2/v2.0/token"
    now = int(time.time())
    assertion = jwt.encode({"aud": token_endpoint, "iss": INTEGRATION_APP, "sub": INTEGRATION_APP, "exp": now + 300,
                            "iat": now, "nbf": now, "jti": str(uuid.uuid4())}, key, algorithm="PS256",
                           headers={"x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")})
    response = token_request(private, client_id=INTEGRATION_APP, client_secret=None,
                             client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                             client_assertion=assertion)
    assert response.status_code == 200, response.text
    # signed by another key with the same thumbprint header: rejected
    other, _, _ = _certificate()
    forged = jwt.encode({"aud": token_endpoint, "iss": INTEGRATION_APP, "sub": INTEGRATION_APP, "exp": now + 300},
                        other, algorithm="PS256",
                        headers={"x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")})
    response = token_request(private, client_id=INTEGRATION_APP, client_secret=None,
                             client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                             client_assertion=forged)
    assert_aad_error(response, 401, "invalid_client", 700027)


def test_federated_credential(private):
    issuer = "https://token.actions.githubusercontent.example"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1", "use": "sig"}
    session = private.session()
    assert session.post("/_sandbox/federated-issuers", json={"issuer": issuer, "jwks": {"keys": [jwk]}}).status_code == 204
    subject = "repo:contoso/bc-sales-integration:environment:prod"
    fic = {"name": "pipeline-prod", "issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}
    assert session.post(f"/_sandbox/apps/{INTEGRATION_APP}/credentials",
                        json={"federatedIdentityCredential": fic}).status_code == 201
    now = int(time.time())

    def assertion(sub=subject, aud="api://AzureADTokenExchange", exp=now + 300, signer=key):
        return jwt.encode({"iss": issuer, "sub": sub, "aud": aud, "exp": exp, "iat": now, "nbf": now - 5},
                          signer, algorithm="RS256", headers={"kid": "k1"})

    result = private.msal_app(INTEGRATION_APP, {"client_assertion": assertion}).acquire_token_for_client([GRAPH])
    assert "access_token" in result, result.get("error_description")

    def federated(token):
        return token_request(private, client_id=INTEGRATION_APP, client_secret=None, client_assertion=token,
                             client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    assert_aad_error(federated(assertion(sub="repo:evil/fork")), 400, "invalid_request", 70021)
    assert_aad_error(federated(assertion(aud="api://other")), 400, "invalid_request", 700212)
    assert_aad_error(federated(assertion(exp=now - 600)), 400, "invalid_request", 700024)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_aad_error(federated(assertion(signer=stranger)), 400, "invalid_request", 700027)
    unknown = jwt.encode({"iss": "https://unknown.example", "sub": subject, "aud": "api://AzureADTokenExchange",
                          "exp": now + 300}, key, algorithm="RS256")
    assert_aad_error(federated(unknown), 400, "invalid_request", 700211)


# -- AADSTS errors ---------------------------------------------------------------------------------
def test_unknown_tenant(sandbox):
    assert_aad_error(token_request(sandbox, tenant="11111111-2222-3333-4444-555555555555"), 400, "invalid_request", 90002)
    metadata = sandbox.session().get("/fabrikam.com/v2.0/.well-known/openid-configuration")
    assert_aad_error(metadata, 400, "invalid_request", 90002)


def test_unknown_client(sandbox):
    assert_aad_error(token_request(sandbox, client_id=str(uuid.uuid4())), 400, "unauthorized_client", 700016)


def test_bad_secret_through_msal_and_wire(sandbox):
    assert_aad_error(token_request(sandbox, client_secret="wrong"), 401, "invalid_client", 7000215)
    result = sandbox.msal_app(credential="wrong").acquire_token_for_client([GRAPH])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
    assert "wrong" not in result["error_description"]


def test_expired_secret(private):
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    private.session().post(f"/_sandbox/apps/{INTEGRATION_APP}/credentials", json={
        "passwordCredential": {"secret": "expired-secret", "startDateTime": "2024-01-01T00:00:00Z", "endDateTime": past}})
    response = token_request(private, client_id=INTEGRATION_APP, client_secret="expired-secret")
    assert_aad_error(response, 401, "invalid_client", 7000222)


@pytest.mark.parametrize("scope, error, code", [
    ("https://graph.microsoft.com/User.Read", "invalid_scope", 70011),
    ("", "invalid_scope", 70011),
    ("https://graph.microsoft.com/.default https://api.businesscentral.dynamics.com/.default", "invalid_scope", 70011),
    ("https://unknown.example.com/.default", "invalid_resource", 500011),
])
def test_bad_scopes(sandbox, scope, error, code):
    assert_aad_error(token_request(sandbox, scope=scope), 400, error, code)


def test_unknown_dataverse_org_is_invalid_resource(sandbox):
    scope = sandbox.endpoints["dataverse"].rsplit("/", 1)[0] + "/nosuchorg/.default"
    assert_aad_error(token_request(sandbox, scope=scope), 400, "invalid_resource", 500011)


def test_missing_credential_and_grant(sandbox):
    assert_aad_error(token_request(sandbox, client_secret=None), 401, "invalid_client", 7000218)
    assert_aad_error(token_request(sandbox, grant_type="password"), 400, "unsupported_grant_type", 70003)


def test_token_lifetime_setting(private):
    try:
        private.settings(tokenLifetimeSeconds=120)
        body = token_request(private).json()
        assert body["expires_in"] == 120
        claims = claims_of(body["access_token"])
        assert claims["exp"] - claims["iat"] == 120
    finally:
        private.settings(tokenLifetimeSeconds=3600)


def test_token_requests_counted_under_their_route(private):
    private.reset_metrics()
    app = private.msal_app()  # a new msal client: reads the openid-configuration once
    for scope in (GRAPH, BC, GRAPH):
        assert "access_token" in app.acquire_token_for_client([scope])  # the second Graph one is from msal's cache
    metrics = private.metrics()
    assert metrics["requests"]["POST /{tenant}/oauth2/v2.0/token"] == 2
    assert metrics["total"] == 3  # + msal's one openid-configuration


# -- services reject bad tokens --------------------------------------------------------------------
def _forged(sandbox, **overrides) -> str:
    """A token signed with the sandbox's own key (read from its data dir) with chosen claims."""
    key = serialization.load_pem_private_key((sandbox.data_dir / "token-signing-key.pem").read_bytes(), None)
    good = jwt.decode(sandbox.admin_token(BC), options={"verify_signature": False})
    header = jwt.get_unverified_header(sandbox.admin_token(BC))
    return jwt.encode(good | overrides, key, algorithm="RS256", headers={"kid": header["kid"]})


def _bc_get(sandbox, token):
    session = sandbox.session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session.get(sandbox.endpoints["business_central"] + "/companies")


def test_bc_accepts_good_and_rejects_bad_tokens(sandbox):
    assert _bc_get(sandbox, sandbox.admin_token(BC)).status_code == 200
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad_signature = jwt.encode(claims_of(sandbox.admin_token(BC)), other_key, algorithm="RS256")
    cases = {
        "expired": _forged(sandbox, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "wrong audience": sandbox.admin_token(sandbox.endpoints["dataverse"] + "/.default"),
        "wrong tenant": _forged(sandbox, tid=str(uuid.uuid4())),
        "bad signature": bad_signature,
        "garbage": "not-a-jwt",
    }
    for name, token in cases.items():
        response = _bc_get(sandbox, token)
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "Authentication_InvalidCredentials", name
    session = sandbox.session()
    assert session.get(sandbox.endpoints["business_central"] + "/companies").status_code == 401


READER_APP, READER_SECRET = "4b7e2d19-8c3a-4f56-9e0d-1a2b3c4d5e6f", "sandbox-reader-secret-do-not-use-in-production"


def test_bc_requires_the_api_role(private):
    """The seeded reader app has no BC app role: its (valid) token is refused."""
    result = private.msal_app(READER_APP, READER_SECRET).acquire_token_for_client([BC])
    assert "roles" not in claims_of(result["access_token"])
    assert _bc_get(private, result["access_token"]).status_code == 401


def test_graph_rejects_wrong_audience_and_expired(sandbox):
    session = sandbox.session()
    url = sandbox.endpoints["graph"] + "/users"
    session.headers["Authorization"] = "Bearer " + sandbox.admin_token(BC)
    response = session.get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    now = int(time.time())
    key = serialization.load_pem_private_key((sandbox.data_dir / "token-signing-key.pem").read_bytes(), None)
    expired = jwt.encode(claims_of(sandbox.admin_token(GRAPH)) | {"exp": now - 60, "iat": now - 3700, "nbf": now - 3700},
                         key, algorithm="RS256")
    session.headers["Authorization"] = "Bearer " + expired
    response = session.get(url)
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidAuthenticationToken"
