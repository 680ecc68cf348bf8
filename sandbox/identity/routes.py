"""Entra ID's wire layer: OpenID metadata, JWKS, and the v2.0 token endpoint (client credentials)."""
from __future__ import annotations

import base64
from urllib.parse import unquote_plus

from werkzeug.wrappers import Response

from sandbox import seed as seeding
from sandbox.app import Route, json_response
from sandbox.identity import models
from sandbox.identity.errors import AadError, aad_error_response

def known_tenant(ctx, tenant: str) -> str:
    """The tenant id for a tenant id or verified domain in the URL; AADSTS90002 otherwise."""
    doc = seeding.tenant(ctx.store)
    if tenant.lower() == doc["id"] or tenant.lower() in {d.lower() for d in doc.get("domains", [])}:
        return doc["id"]
    raise AadError(400, "invalid_request", 90002,
                          f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                          "signing into the correct cloud. Check with your subscription administrator, this may "
                          "happen if there are no active subscriptions for the tenant.")


def _aad(handler):
    def wrapped(ctx, **kwargs):
        try:
            return handler(ctx, **kwargs)
        except AadError as err:
            return aad_error_response(ctx, err)

    wrapped.__name__ = handler.__name__
    return wrapped


@_aad
def openid_configuration(ctx, tenant: str) -> Response:
    tid = known_tenant(ctx, tenant)
    base = f"{ctx.base_url}/{tid}"
    return json_response({
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{ctx.base_url}/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                             "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                             "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })


@_aad
def keys(ctx, tenant: str) -> Response:
    tid = known_tenant(ctx, tenant)
    return json_response({"keys": [ctx.app.signing_key.jwk(f"{ctx.base_url}/{tid}/v2.0")]})


@_aad
def token(ctx, tenant: str) -> Response:
    tid = known_tenant(ctx, tenant)
    form = ctx.request.form
    grant_type = form.get("grant_type")
    if not grant_type:
        raise AadError(400, "invalid_request", 900144,
                              "The request body must contain the following parameter: 'grant_type'.")
    if grant_type != "client_credentials":
        raise AadError(400, "unsupported_grant_type", 70003,
                              f"The app requested an unsupported grant type '{grant_type}'.")
    client_id, basic_secret = _basic_auth(ctx)
    client_id = (form.get("client_id") or client_id or "").strip().lower()
    if not client_id:
        raise AadError(400, "invalid_request", 900144,
                              "The request body must contain the following parameter: 'client_id'.")
    app = models.application_by_app_id(ctx.store, client_id)
    if app is None:
        raise AadError(400, "unauthorized_client", 700016,
                              f"Application with identifier '{client_id}' was not found in the directory "
                              f"'{seeding.tenant(ctx.store).get('displayName') or tid}'. This can happen if the "
                              "application has not been installed by the administrator of the tenant or consented to "
                              "by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
    audience, resource_sp = _scope_resource(ctx, form.get("scope"))
    appidacr = _authenticate_client(ctx, tid, tenant, app, form, basic_secret)
    client_sp = models.service_principal_by_app_id(ctx.store, client_id)
    if client_sp is None:
        raise AadError(400, "invalid_client", 7000229,
                              f"The client application {client_id} is missing service principal in the tenant {tid}.")
    roles = [] if resource_sp is not None and resource_sp["appId"] == models.res.DYNAMICS_CRM_APP_ID \
        else models.granted_roles(ctx.store, client_sp["id"], resource_sp)
    lifetime = int(ctx.app.settings.get("tokenLifetimeSeconds") or models.config(ctx.store)["tokenLifetimeSeconds"])
    claims = models.access_token_claims(tid, audience, app, client_sp, roles, lifetime, appidacr)
    access_token = ctx.app.signing_key.issue(claims)
    return json_response({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                          "access_token": access_token},
                         headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _basic_auth(ctx) -> tuple[str | None, str | None]:
    header = ctx.request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip()).decode()
    except (ValueError, UnicodeDecodeError):
        raise AadError(401, "invalid_client", 7000216, "The client secret in the Authorization header is malformed.") from None
    user, _, password = decoded.partition(":")
    return unquote_plus(user), unquote_plus(password)


def _scope_resource(ctx, scope: str | None) -> tuple[str, dict | None]:
    if not scope or not scope.strip():
        raise AadError(400, "invalid_scope", 70011,
                              "The provided request must include a 'scope' input parameter.")
    scopes = scope.split()
    defaults = [s for s in scopes if s.endswith("/.default")]
    if len(defaults) != 1 or any(s not in defaults and s not in ("openid", "profile", "offline_access") for s in scopes):
        raise AadError(400, "invalid_scope", 70011,
                              f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is "
                              "not valid. Client credential flows must have a scope value with /.default suffixed to "
                              "the resource identifier (application ID URI).")
    return models.resolve_resource(ctx.store, defaults[0][: -len("/.default")], ctx.base_url)


def _authenticate_client(ctx, tid: str, tenant_in_url: str, app: dict, form, basic_secret: str | None) -> str:
    """Checks the client's credential; returns appidacr ("1" secret, "2" certificate or federated assertion)."""
    secret = form.get("client_secret") or basic_secret
    assertion_type, assertion = form.get("client_assertion_type"), form.get("client_assertion")
    if secret:
        models.check_secret(app, secret)
        return "1"
    if assertion:
        if assertion_type != models.ASSERTION_TYPE:
            raise AadError(400, "invalid_request", 50027,
                                  f"client_assertion_type must be '{models.ASSERTION_TYPE}'.")
        issuer = models._unverified_claims(assertion).get("iss")
        if issuer == app["appId"]:
            endpoints = {f"{ctx.base_url}/{t}/oauth2/v2.0/token" for t in (tid, tenant_in_url)}
            endpoints |= {f"{ctx.base_url}/{t}/oauth2/token" for t in (tid, tenant_in_url)}
            models.check_certificate_assertion(app, assertion, endpoints)
        else:
            models.check_federated_assertion(ctx.store, app, assertion)
        return "2"
    raise AadError(401, "invalid_client", 7000218,
                          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")


ROUTES = [
    Route("GET", "/<tenant>/v2.0/.well-known/openid-configuration", openid_configuration),
    Route("GET", "/<tenant>/discovery/v2.0/keys", keys),
    Route("GET", "/<tenant>/discovery/keys", keys),
    Route("POST", "/<tenant>/oauth2/v2.0/token", token),
]
