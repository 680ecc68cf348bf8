"""Identity test helpers under /_sandbox (no token, loopback only; see sandbox/README.md).

- `POST /_sandbox/federated-issuers` `{"issuer": URL, "jwks": {"keys": [JWK, ...]}}`: trust an external IdP's
  signing keys for workload identity federation (the sandbox cannot fetch a real issuer's JWKS offline).
- `POST /_sandbox/apps/{appId}/credentials` with one of `{"passwordCredential": {"secret", "startDateTime"?,
  "endDateTime"?}}`, `{"keyCredential": {"certificate": PEM}}`, `{"federatedIdentityCredential": {"name",
  "issuer", "subject", "audiences"?}}`: add a credential to a seeded app directly (e.g. an expired secret).
"""
from __future__ import annotations

import uuid

from werkzeug.wrappers import Response

from sandbox.app import Route, ServiceError, json_response
from sandbox.identity import models


def _body(ctx) -> dict:
    body = ctx.request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError(400, "BadRequest", "A JSON object body is required.")
    return body


def register_federated_issuer(ctx) -> Response:
    body = _body(ctx)
    issuer, jwks = body.get("issuer"), body.get("jwks")
    if not isinstance(issuer, str) or not issuer or not isinstance(jwks, dict) or not jwks.get("keys"):
        raise ServiceError(400, "BadRequest", 'Body must be {"issuer": "<url>", "jwks": {"keys": [...]}}.')
    models.register_federated_issuer(ctx.store, issuer, jwks)
    return Response(status=204)


def add_credential(ctx, app_id: str) -> Response:
    body = _body(ctx)
    app = models.application_by_app_id(ctx.store, app_id)
    if app is None:
        raise ServiceError(404, "NotFound", f"No application with appId {app_id}.")
    if "passwordCredential" in body:
        spec = body["passwordCredential"]
        credential = models.password_credential(spec["secret"], spec.get("displayName", "test"),
                                                models.parse_time(spec.get("startDateTime")),
                                                models.parse_time(spec.get("endDateTime")))
        collection, shown = "passwordCredentials", {k: v for k, v in credential.items() if not k.startswith("_")}
    elif "keyCredential" in body:
        credential = models.key_credential(body["keyCredential"]["certificate"])
        collection, shown = "keyCredentials", credential
    elif "federatedIdentityCredential" in body:
        spec = body["federatedIdentityCredential"]
        credential = {"id": str(uuid.uuid4()), "name": spec["name"], "issuer": spec["issuer"],
                      "subject": spec["subject"], "audiences": spec.get("audiences") or [models.TOKEN_EXCHANGE_AUDIENCE],
                      "description": spec.get("description")}
        collection, shown = "federatedIdentityCredentials", credential
    else:
        raise ServiceError(400, "BadRequest", "One of passwordCredential, keyCredential, federatedIdentityCredential.")
    models.add_credential(ctx.store, app, collection, credential)
    return json_response(shown, 201)


ROUTES = [
    Route("POST", "/_sandbox/federated-issuers", register_federated_issuer),
    Route("POST", "/_sandbox/apps/<app_id>/credentials", add_credential),
]
