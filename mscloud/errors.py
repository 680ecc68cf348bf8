"""Typed errors for every Microsoft service call.

Callers branch on the class (NotFound, Conflict, ...) and show `str(err)`: one line with service,
status, the service's error code and message, and the request id support needs. Never a token,
secret or header: messages are scrubbed of anything that looks like a JWT.
"""
from __future__ import annotations

import json
import re

_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_REQUEST_ID_HEADERS = ("request-id", "x-ms-service-request-id", "REQ_ID", "x-ms-request-id", "client-request-id")


def scrub(text: str) -> str:
    """Remove anything shaped like a bearer token from text bound for an error or a log."""
    return _JWT.sub("<redacted>", text or "")


class ServiceError(Exception):
    """A Microsoft service answered with an error (or could not be reached)."""

    def __init__(self, service: str, status: int | None, code: str | None, message: str,
                 request_id: str | None = None, method: str | None = None, route: str | None = None,
                 retry_after: float | None = None):
        self.service = service
        self.status = status
        self.code = code
        self.message = scrub(message)
        self.request_id = request_id
        self.method = method
        self.route = route
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.service} {self.status or 'error'}"
        if self.code:
            head += f" {self.code}"
        text = f"{head}: {self.message}"
        where = " ".join(p for p in (self.method, self.route) if p)
        extras = [p for p in (where, f"request id {self.request_id}" if self.request_id else "") if p]
        return f"{text} ({'; '.join(extras)})" if extras else text

    def __reduce__(self):  # picklable across processes (pulumi dynamic providers)
        return (_rebuild, (type(self), self.service, self.status, self.code, self.message, self.request_id,
                           self.method, self.route, self.retry_after))


def _rebuild(cls, *args):
    return cls(*args)


class BadRequest(ServiceError):
    """400: the service rejected the request as malformed or invalid."""


class Unauthorized(ServiceError):
    """401: token missing, expired, for the wrong audience or badly signed."""


class Forbidden(ServiceError):
    """403: the caller lacks a permission or a security role."""


class NotFound(ServiceError):
    """404: the object does not exist."""


class Conflict(ServiceError):
    """409: the object already exists or is being changed."""


class PreconditionFailed(ServiceError):
    """412: If-Match / If-None-Match did not hold."""


class Throttled(ServiceError):
    """429 (or 503) still answered after the retry budget was spent."""


class TransportError(ServiceError):
    """The service could not be reached or the connection dropped (no HTTP status)."""


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
              412: PreconditionFailed, 429: Throttled}


def error_class(status: int | None) -> type[ServiceError]:
    return _BY_STATUS.get(status or 0, ServiceError)


def request_id_from(headers, inner: dict | None = None) -> str | None:
    """Graph puts the id in innerError and the `request-id` header; Dataverse in `REQ_ID` / x-ms-service-request-id."""
    if inner:
        for key in ("request-id", "requestId", "request_id"):
            if inner.get(key):
                return str(inner[key])
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    for name in _REQUEST_ID_HEADERS:
        if lowered.get(name.lower()):
            return str(lowered[name.lower()])
    return None


def parse_error_body(body: str | bytes | dict | None) -> tuple[str | None, str | None, dict | None]:
    """(code, message, innerError) from a Graph or Dataverse error body; Nones when it is not one."""
    data = body
    if isinstance(body, (bytes, str)):
        try:
            data = json.loads(body or b"null")
        except ValueError:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return None, text.strip().splitlines()[0][:300] if text.strip() else None, None
    if not isinstance(data, dict):
        return None, None, None
    err = data.get("error")
    if isinstance(err, dict):
        inner = err.get("innerError") or err.get("innererror")
        return err.get("code"), err.get("message"), inner if isinstance(inner, dict) else None
    if isinstance(err, str):  # OAuth-style {"error": "...", "error_description": "..."}
        return err, data.get("error_description"), None
    return None, None, None


def error_from_response(service: str, status: int, headers, body, method: str | None = None,
                        route: str | None = None, retry_after: float | None = None) -> ServiceError:
    """The typed error for a failed response (a whole HTTP response or one $batch item)."""
    code, message, inner = parse_error_body(body)
    cls = error_class(status)
    return cls(service, status, code, message or f"HTTP {status}", request_id_from(headers, inner),
               method, route, retry_after)
