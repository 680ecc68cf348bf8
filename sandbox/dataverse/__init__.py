"""The sandbox's Dataverse Web API v9.2 service: one org per `dataverse: orgs:` seed entry, at /orgs/<org>.

Layout: errors.py (codes, messages), metadata.py (tables), models.py (state and rules), query.py
(OData options), routes.py (wire), batch.py ($batch), seed.py (seed hook); solution zips are read by solution_import/package.py.
"""
from __future__ import annotations

from werkzeug.wrappers import Response

from sandbox.app import Service, json_response

from .errors import THROTTLE_MESSAGE, THROTTLED_REQUESTS
from .routes import routes
from .seed import seed_dataverse

_GENERIC = {404: "0x80060888", 405: "0x80060888", 500: "0x80040216"}


def audience(ctx) -> str:
    """The token audience is the org URL, as endpoints.json gives it."""
    return f"{ctx.base_url}/orgs/{ctx.url_vars.get('org', '')}"


def error(ctx, status: int, code: str, message: str) -> Response:
    """Dataverse's error body; framework codes (not 0x…) become Dataverse's generic ones."""
    if not str(code).startswith("0x"):
        code = _GENERIC.get(status, "0x80060888")
    return json_response({"error": {"code": code, "message": message}}, status, {"OData-Version": "4.0"})


def unauthorized(ctx, reason: str) -> Response:
    """Dataverse answers a bad token with an empty 401 and a WWW-Authenticate challenge."""
    challenge = (f"Bearer authorization_uri=https://login.microsoftonline.com/{ctx.tenant_id}/oauth2/authorize, "
                 f"resource_id={audience(ctx)}")
    return Response(b"", status=401, headers={"WWW-Authenticate": challenge})


def fault(ctx, status: int) -> Response:
    """Service protection (429) and 503 bodies as Dataverse sends them, with Retry-After."""
    if status == 429:
        response = error(ctx, 429, THROTTLED_REQUESTS, THROTTLE_MESSAGE)
        response.headers["Retry-After"] = "1"
        return response
    response = error(ctx, 503, "0x80040216", "The service is temporarily unavailable. Please retry.")
    response.headers["Retry-After"] = "1"
    return response


SERVICE = Service(
    name="dataverse",
    routes=routes(),
    audience=audience,
    error=error,
    unauthorized=unauthorized,
    faults=True,
    seed=seed_dataverse,
    prefix="/orgs/",
    fault=fault,
)
