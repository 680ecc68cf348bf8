"""Entra ID's rules, without HTTP: credentials, client authentication, token claims (seeding: seed.py).

Failures raise `AadError` (errors.py) carrying the real AADSTS code; errors.py renders Entra's error body from it.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from sandbox.identity import resources as res
from sandbox.identity.errors import AadError

CONFIG = "identity:config"            # kind: {"tokenLifetimeSeconds", "dataverseOrgs": [...]}
FEDERATED_ISSUERS = "identity:federatedIssuers"  # kind: issuer -> {"issuer", "jwks": {"keys": [...]}}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- credentials ----------------------------------------------------------------------------------
def password_credential(secret: str, display_name: str = "sandbox seed", start: dt.datetime | None = None,
                        end: dt.datetime | None = None) -> dict:
    """A passwordCredential as Graph stores it; the secret itself is kept only as its SHA-256."""
    start = start or now_utc()
    end = end or start + dt.timedelta(days=730)
    return {"keyId": str(uuid.uuid4()), "displayName": display_name, "hint": secret[:3],
            "startDateTime": iso(start), "endDateTime": iso(end), "_secretSha256": sha256_hex(secret)}


def key_credential(certificate_pem: str, display_name: str = "sandbox certificate") -> dict:
    """A keyCredential (AsymmetricX509Cert, Verify) for a PEM certificate."""
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    return {"keyId": str(uuid.uuid4()), "type": "AsymmetricX509Cert", "usage": "Verify", "displayName": display_name,
            "key": base64.b64encode(der).decode(), "customKeyIdentifier": cert.fingerprint(hashes.SHA1()).hex().upper(),
            "startDateTime": iso(cert.not_valid_before_utc), "endDateTime": iso(cert.not_valid_after_utc)}


def register_federated_issuer(store, issuer: str, jwks: dict) -> None:
    """Trust an external IdP's signing keys for federated assertions."""
    store.put(FEDERATED_ISSUERS, issuer, {"issuer": issuer, "jwks": jwks})


def add_credential(store, app: dict, collection: str, credential: dict) -> None:
    """Add a password, key or federated identity credential to an application."""
    app.setdefault(collection, []).append(credential)
    store.put("applications", app["id"], app)


# -- lookups ----------------------------------------------------------------------------------------
def config(store) -> dict:
    return store.get(CONFIG, "config") or {"tokenLifetimeSeconds": 3600, "dataverseOrgs": []}


def application_by_app_id(store, app_id: str) -> dict | None:
    found = store.find("applications", appId=app_id.lower())
    return found[0] if found else None


def service_principal_by_app_id(store, app_id: str) -> dict | None:
    found = store.find("servicePrincipals", appId=app_id.lower())
    return found[0] if found else None


def resolve_resource(store, resource: str, base_url: str) -> tuple[str, dict | None]:
    """(token audience, resource SP) for a scope's resource part; AADSTS500011 when the tenant has no such resource."""
    key = resource.rstrip("/")
    lowered = key.lower()
    if lowered in (res.GRAPH_AUDIENCE, res.GRAPH_APP_ID, "https://graph.microsoft.com/v1.0"):
        return res.GRAPH_AUDIENCE, service_principal_by_app_id(store, res.GRAPH_APP_ID)
    if lowered in (res.BUSINESS_CENTRAL_AUDIENCE, res.BUSINESS_CENTRAL_APP_ID):
        return res.BUSINESS_CENTRAL_AUDIENCE, service_principal_by_app_id(store, res.BUSINESS_CENTRAL_APP_ID)
    for org in config(store).get("dataverseOrgs", []):
        org_url = f"{base_url}/orgs/{org}"
        if lowered == org_url.lower():
            return org_url, service_principal_by_app_id(store, res.DYNAMICS_CRM_APP_ID)
    raise AadError(400, "invalid_resource", 500011,
                   f"The resource principal named {resource} was not found in the tenant named {{tenant}}. This can "
                   "happen if the application has not been installed by the administrator of the tenant or consented "
                   "to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")


def granted_roles(store, client_sp_id: str, resource_sp: dict | None) -> list[str]:
    """Values of the resource's app roles assigned to the client's service principal."""
    if resource_sp is None:
        return []
    names = {role["id"]: role["value"] for role in resource_sp.get("appRoles") or []}
    return sorted({names[a["appRoleId"]] for a in store.find("appRoleAssignments", principalId=client_sp_id,
                                                              resourceId=resource_sp["id"]) if a["appRoleId"] in names})


# -- client authentication --------------------------------------------------------------------------
def check_secret(app: dict, secret: str) -> None:
    digest = sha256_hex(secret)
    matching = [c for c in app.get("passwordCredentials") or [] if c.get("_secretSha256") == digest]
    if not matching:
        raise AadError(401, "invalid_client", 7000215,
                       "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                       f"secret value, not the client secret ID, for a secret added to app '{app['appId']}'.")
    moment = now_utc()
    if not any(_valid_at(c, moment) for c in matching):
        raise AadError(401, "invalid_client", 7000222,
                       f"The provided client secret keys for app '{app['appId']}' are expired. Visit the Azure portal "
                       "to create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
                       "certificate credentials for added security: https://aka.ms/certCreds.")


def _valid_at(credential: dict, moment: dt.datetime) -> bool:
    start, end = parse_time(credential.get("startDateTime")), parse_time(credential.get("endDateTime"))
    return (start is None or start <= moment) and (end is None or moment < end)


def check_certificate_assertion(app: dict, assertion: str, token_endpoints: set[str]) -> None:
    """A client assertion signed with one of the app's keyCredentials (x5t or x5t#S256), aud = token endpoint."""
    header = _unverified_header(assertion)
    thumb_sha1, thumb_sha256 = header.get("x5t"), header.get("x5t#S256")
    sha1, sha256 = _thumbprint_bytes(thumb_sha1), _thumbprint_bytes(thumb_sha256)
    key_cred = None
    for credential in app.get("keyCredentials") or []:
        der = base64.b64decode(credential["key"])
        if sha1 and hashlib.sha1(der).digest() == sha1 or sha256 and hashlib.sha256(der).digest() == sha256:
            key_cred = credential
            break
    if key_cred is None:
        raise AadError(401, "invalid_client", 700027,
                       f"The certificate with identifier used to sign the client assertion is not registered on "
                       f"application. [Reason - The key was not found., Thumbprint of key used by client: "
                       f"'{thumb_sha1 or thumb_sha256}']")
    if not _valid_at(key_cred, now_utc()):
        raise AadError(401, "invalid_client", 700027,
                       "Client assertion contains an invalid signature. [Reason - The key used is expired.]")
    cert = x509.load_der_x509_certificate(base64.b64decode(key_cred["key"]))
    try:
        claims = jwt.decode(assertion, cert.public_key(), algorithms=["RS256", "PS256"],
                            options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]})
    except jwt.ExpiredSignatureError:
        raise AadError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.") from None
    except jwt.InvalidSignatureError:
        raise AadError(401, "invalid_client", 700027,
                       "Client assertion contains an invalid signature. [Reason - The key was found but use of the "
                       "key to verify the signature failed.]") from None
    except jwt.PyJWTError:
        raise AadError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None
    if claims.get("iss") != app["appId"] or claims.get("sub") != app["appId"]:
        raise AadError(401, "invalid_client", 700021,
                       "Client assertion application identifier doesn't match 'client_id' parameter.")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not {a.lower() for a in audiences} & {t.lower() for t in token_endpoints}:
        raise AadError(401, "invalid_client", 700212,
                       f"Client assertion audience claim does not match Realm issuer. Review the documentation at "
                       f"https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")


def check_federated_assertion(store, app: dict, assertion: str) -> None:
    """An external IdP's token matched against the app's federatedIdentityCredentials (issuer, subject, audience)."""
    unverified = _unverified_claims(assertion)
    issuer, subject = unverified.get("iss"), unverified.get("sub")
    registered = store.get(FEDERATED_ISSUERS, issuer or "")
    if registered is None:
        raise AadError(400, "invalid_request", 700211,
                       f"No matching federated identity record found for presented assertion issuer '{issuer}'. "
                       "Please check your federated identity credential Subject, Audience and Issuer against the "
                       "presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation")
    key = _issuer_key(registered, _unverified_header(assertion).get("kid"))
    try:
        claims = jwt.decode(assertion, key, algorithms=["RS256", "PS256", "ES256"],
                            options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]})
    except jwt.ExpiredSignatureError:
        raise AadError(400, "invalid_request", 700024, "Client assertion is not within its valid time range.") from None
    except jwt.PyJWTError:
        raise AadError(400, "invalid_request", 700027,
                       "Client assertion contains an invalid signature. [Reason - The key was not found.]") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    candidates = [f for f in app.get("federatedIdentityCredentials") or []
                  if f.get("issuer") == issuer and f.get("subject") == subject]
    if not candidates:
        raise AadError(400, "invalid_request", 70021,
                       f"No matching federated identity record found for presented assertion. Assertion Issuer: "
                       f"'{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{','.join(audiences)}'. "
                       "https://learn.microsoft.com/entra/workload-id/workload-identity-federation")
    if not any(set(audiences) & set(f.get("audiences") or [TOKEN_EXCHANGE_AUDIENCE]) for f in candidates):
        raise AadError(400, "invalid_request", 700212,
                       f"No matching federated identity record found for presented assertion audience "
                       f"'{','.join(audiences)}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation")


def _issuer_key(registered: dict, kid: str | None):
    keys = (registered.get("jwks") or {}).get("keys") or []
    chosen = [k for k in keys if kid is None or k.get("kid") == kid] or keys
    if not chosen:
        raise AadError(400, "invalid_request", 700027,
                       "Client assertion contains an invalid signature. [Reason - The key was not found.]")
    return jwt.PyJWK(chosen[0]).key


def _unverified_header(token: str) -> dict:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AadError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None


def _unverified_claims(token: str) -> dict:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AadError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None


def _thumbprint_bytes(value) -> bytes | None:
    """x5t / x5t#S256 as bytes; base64url per RFC 7515, plain padded base64 as msal sends it also accepted."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# -- tokens -------------------------------------------------------------------------------------------
def access_token_claims(tenant_id: str, audience: str, client_app: dict, client_sp: dict, roles: list[str],
                        lifetime: int, appidacr: str) -> dict:
    """The claims of a v1.0 app-only access token, as Entra ID issues for Graph, Dataverse and BC."""
    issued = int(time.time())
    claims = {
        "aud": audience, "iss": f"https://sts.windows.net/{tenant_id}/", "iat": issued, "nbf": issued,
        "exp": issued + lifetime, "aio": _b64url(uuid.uuid4().bytes), "app_displayname": client_app["displayName"],
        "appid": client_app["appId"], "appidacr": appidacr, "azp": client_app["appId"], "azpacr": appidacr,
        "idp": f"https://sts.windows.net/{tenant_id}/", "idtyp": "app", "oid": client_sp["id"], "sub": client_sp["id"],
        "tid": tenant_id, "uti": _b64url(uuid.uuid4().bytes)[:22], "ver": "1.0",
    }
    if roles:
        claims["roles"] = roles
    return claims
