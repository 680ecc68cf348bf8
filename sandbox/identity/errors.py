"""Entra ID's error body and the exception its rules raise: AADSTS number, OAuth error and text.

The body is `{"error", "error_description": "AADSTSnnnn: ...\\r\\nTrace ID: ...", "error_codes", "timestamp",
"trace_id", "correlation_id", "error_uri"}` ("Microsoft identity platform access tokens: errors",
https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response).
"""
from __future__ import annotations

import datetime as dt
import uuid

from werkzeug.wrappers import Response

from sandbox import seed as seeding
from sandbox.app import json_response

_SERVICE_ERRORS = {  # ServiceError raised by the framework for identity routes -> AADSTS
    404: ("invalid_request", 90002),
}


class AadError(Exception):
    """An Entra ID token-endpoint error: HTTP status, OAuth error, AADSTS number and its text."""

    def __init__(self, status: int, error: str, code: int, text: str):
        super().__init__(f"AADSTS{code}: {text}")
        self.status, self.error, self.code, self.text = status, error, code, text


def aad_error_response(ctx, err: AadError) -> Response:
    """Entra's error body: error, error_description with trace/correlation ids, error_codes, timestamp, ..."""
    moment = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = ctx.request_id
    correlation_id = ctx.request.headers.get("client-request-id") or str(uuid.uuid4())
    text = err.text.replace("{tenant}", seeding.tenant(ctx.store)["id"])
    body = {
        "error": err.error,
        "error_description": f"AADSTS{err.code}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}"
                             f"\r\nTimestamp: {moment}",
        "error_codes": [err.code], "timestamp": moment, "trace_id": trace_id, "correlation_id": correlation_id,
        "error_uri": f"{ctx.base_url}/error?code={err.code}",
    }
    return json_response(body, err.status, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def render_error(ctx, status: int, code: str, message: str) -> Response:
    """Framework errors (500s, unmatched paths) in Entra's shape."""
    error, number = _SERVICE_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request", 90000))
    return aad_error_response(ctx, AadError(status, error, number, message))
