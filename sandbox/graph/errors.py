"""Graph's error bodies and the few errors every Graph handler raises (messages as Graph words them)."""
from __future__ import annotations

from datetime import datetime, timezone

from sandbox.app import ServiceError, json_response

NOT_FOUND = "Request_ResourceNotFound"
BAD_REQUEST = "Request_BadRequest"
DENIED = "Authorization_RequestDenied"


def not_found(key: str) -> ServiceError:
    return ServiceError(404, NOT_FOUND,
                        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.")


def bad_request(message: str, code: str = BAD_REQUEST) -> ServiceError:
    return ServiceError(400, code, message)


def invalid_value(prop: str, resource: str) -> ServiceError:
    return bad_request(f"Invalid value specified for property '{prop}' of resource '{resource}'.")


def unknown_property(prop: str) -> ServiceError:
    return bad_request(f"Property '{prop}' does not exist as a declared property or extension property.")


def read_only(prop: str) -> ServiceError:
    return bad_request(f"Property '{prop}' is read-only and cannot be set.")


def forbidden() -> ServiceError:
    return ServiceError(403, DENIED, "Insufficient privileges to complete the operation.")


def error_body(code: str, message: str, request_id: str, client_request_id: str | None) -> dict:
    """`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`."""
    return {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id or request_id,
    }}}


def render_error(ctx, status: int, code: str, message: str):
    """Service.error: Graph's body plus the request-id headers Graph sends."""
    client_id = ctx.request.headers.get("client-request-id")
    headers = {"request-id": ctx.request_id, "client-request-id": client_id or ctx.request_id}
    return json_response(error_body(code, message, ctx.request_id, client_id), status, headers)


_UNAUTHORIZED = {
    "missing_token": "Access token is empty.",
    "malformed_token": "IDX14100: JWT is not well formed, there are no dots (.).",
    "expired": "Lifetime validation failed, the token is expired.",
    "wrong_audience": "Invalid audience.",
}


def render_unauthorized(ctx, reason: str):
    """Graph's 401: code InvalidAuthenticationToken with a reason-specific message."""
    message = _UNAUTHORIZED.get(reason, "Access token validation failure. Invalid audience." if reason == "wrong_tenant"
                                else "Access token validation failure.")
    response = render_error(ctx, 401, "InvalidAuthenticationToken", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
    return response
