"""The sandbox's WSGI app: routing to services, bearer-token checks, metrics, latency, faults, in-process dispatch.

Services (identity, graph, dataverse, bc, admin) only describe routes and their error shapes; everything
cross-cutting lives here once, so every service enforces tokens and counts requests the same way.
"""
from __future__ import annotations

import json
import random
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

# Reasons passed to `Service.unauthorized(ctx, reason)`.
MISSING_TOKEN = "missing_token"          # no Authorization: Bearer header
MALFORMED_TOKEN = "malformed_token"      # not a JWT
INVALID_SIGNATURE = "invalid_signature"  # not signed by the sandbox key
EXPIRED = "expired"                      # exp in the past (or nbf in the future)
WRONG_AUDIENCE = "wrong_audience"        # aud is not this service's
WRONG_TENANT = "wrong_tenant"            # tid is not the sandbox tenant


class ServiceError(Exception):
    """Raised by handlers; the app renders it with the service's own error body."""

    schema = False  # a refusal by Microsoft's schema (SchemaRefusal)

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 details: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details or []   # Graph's error.details[] ({code, target}), added to the rendered body


class SchemaRefusal(ServiceError):
    """A refusal because a name is not in Microsoft's schema (sandbox/schema/): an unknown segment, entity set,
    property, navigation property, operation or parameter. The app counts these apart (metrics
    `schema_refusals`): the product's own flows must cause none."""

    schema = True


class TokenError(Exception):
    """Raised by the token verifier; `reason` is one of the constants above."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Route:
    method: str
    rule: str
    handler: Callable[..., Response]
    template: str | None = None  # metrics key; default: the rule with <conv:name> written as {name}
    write: bool = False          # documentation only; handlers call ctx.count_write() per state change

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.template is None:
            import re

            self.template = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", self.rule)


def _no_seed(store, seed, ctx) -> None:
    return None


@dataclass
class Service:
    name: str
    routes: list[Route]
    audience: Callable[["Ctx"], str | Iterable[str]] | None = None
    error: Callable[["Ctx", int, str, str], Response] | None = None
    unauthorized: Callable[["Ctx", str], Response] | None = None
    faults: bool = False
    seed: Callable[[Any, dict, Any], None] = _no_seed
    # Additive to the README interface: a path prefix this service owns (unmatched paths under it get the
    # service's error body, 404), and an optional fault renderer (status 429/503 -> Response) for
    # services whose throttling body differs from `error(ctx, status, code, message)` + Retry-After.
    prefix: str | None = None
    fault: Callable[["Ctx", int], Response] | None = None
    retry_after: str = "1"
    throttle_code: str = "TooManyRequests"
    unavailable_code: str = "ServiceUnavailable"
    counted: bool = True  # admin routes are not counted in metrics
    not_found_status: int = 404           # unmatched path under `prefix` when the service has no unknown_path
    not_found_code: str = "NotFound"
    # The schema gate: `check(ctx)` runs before every handler of the service (batch parts included) and raises
    # SchemaRefusal for a name Microsoft's schema lacks; `unknown_path(ctx, method_not_allowed)` answers a path
    # under `prefix` that no route serves (a ServiceError to raise, e.g. SchemaRefusal for an unknown segment).
    check: Callable[["Ctx"], None] | None = None
    unknown_path: Callable[["Ctx", bool], ServiceError] | None = None
    headers: dict[str, str] = field(default_factory=dict)   # carried by every answer of the service (not batch parts)

    def render_error(self, ctx: "Ctx", status: int, code: str, message: str) -> Response:
        if self.error is not None:
            return self.error(ctx, status, code, message)
        return json_response({"error": {"code": code, "message": message}}, status)

    def render_unauthorized(self, ctx: "Ctx", reason: str) -> Response:
        if self.unauthorized is not None:
            return self.unauthorized(ctx, reason)
        return self.render_error(ctx, 401, "InvalidAuthenticationToken", "Access token validation failure.")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=utf-8") -> Response:
    """A JSON response (compact, UTF-8), the shape every service answers in."""
    data = json.dumps(body, separators=(",", ":")) if body is not None else ""
    return Response(data, status=status, headers=headers or {}, content_type=content_type)


def json_object_body(request: Request) -> dict:
    """The request's body when it is a JSON object, else {}: schema gates read names from it and leave a bad body
    to the handler's own error."""
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class Ctx:
    """What a handler sees: the request, the state, the caller, and a way to run other routes in-process."""

    request: Request
    store: Any
    app: "App"
    service: Service
    route_key: str
    url_vars: dict[str, Any]
    claims: dict | None = None
    in_batch: bool = False
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    latency_seconds: float = 0.0   # the injected --latency-ms this request slept

    @property
    def tenant_id(self) -> str:
        return self.app.tenant_id

    @property
    def base_url(self) -> str:
        return self.app.base_url

    def count_write(self, n: int = 1) -> None:
        self.app.metrics.count_write(self.route_key, n)

    def dispatch(self, method: str, path: str, headers: dict[str, str] | None = None,
                 body: bytes | str | None = None) -> Response:
        """Run another route in-process with this request's token (batch parts); not an HTTP request."""
        merged = {}
        auth = self.request.headers.get("Authorization")
        if auth:
            merged["Authorization"] = auth
        merged.update(headers or {})
        path, _, query = path.partition("?")
        builder = EnvironBuilder(path=path, query_string=query, method=method.upper(), headers=merged,
                                 data=body if body is not None else b"", base_url=self.base_url)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ["REMOTE_ADDR"] = self.request.remote_addr or "127.0.0.1"
        return self.app.handle(Request(environ), in_batch=True)


class Metrics:
    """The request counts of sandbox/README.md ("Metrics"), plus writes (state changes, batch parts included) and
    time: the injected latency each request slept and the sandbox's own processing time (the rest of the request
    in the app), summed, per route, and as wall time (the union of the requests' intervals), so a benchmark can
    subtract what a real cloud's processing would cost from its own wall time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.requests: dict[str, int] = {}
            self.writes = 0
            self.writes_by_route: dict[str, int] = {}
            self.schema_refusals = 0
            self.schema_refused: dict[str, int] = {}
            self.latency_seconds = 0.0
            self.processing_seconds = 0.0
            self.processing_by_route: dict[str, float] = {}
            self._intervals: list[tuple[float, float, float]] = []   # (start, latency end, end), perf_counter
            self.faults: dict[str, int] = {}

    def record_time(self, key: str, started: float, latency: float, ended: float) -> None:
        """One counted request: it entered the app at `started`, slept `latency` first, left at `ended`."""
        with self._lock:
            self.latency_seconds += latency
            processing = ended - started - latency
            self.processing_seconds += processing
            self.processing_by_route[key] = self.processing_by_route.get(key, 0.0) + processing
            self._intervals.append((started, started + latency, ended))

    def count_request(self, key: str) -> None:
        with self._lock:
            self.total += 1
            self.requests[key] = self.requests.get(key, 0) + 1

    def count_write(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.writes += n
            self.writes_by_route[key] = self.writes_by_route.get(key, 0) + n

    def count_fault(self, fault: str) -> None:
        with self._lock:
            self.faults[fault] = self.faults.get(fault, 0) + 1

    def count_schema_refusal(self, key: str, message: str) -> None:
        with self._lock:
            self.schema_refusals += 1
            what = f"{key}: {message}"
            self.schema_refused[what] = self.schema_refused.get(what, 0) + 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"total": self.total, "requests": dict(self.requests), "writes": self.writes,
                    "writes_by_route": dict(self.writes_by_route), "schema_refusals": self.schema_refusals,
                    "schema_refused": dict(self.schema_refused), "faults": dict(self.faults),
                    "seconds": {"latency": self.latency_seconds, "processing": self.processing_seconds,
                                "processing_by_route": dict(self.processing_by_route),
                                "busy_wall": union_seconds((a, c) for a, _, c in self._intervals),
                                "latency_wall": union_seconds((a, b) for a, b, _ in self._intervals),
                                "processing_wall": union_seconds((b, c) for _, b, c in self._intervals)}}


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """How long at least one of the intervals was open (overlaps counted once)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


@dataclass
class FaultSpec:
    """`--faults 429=0.2,503=0.1,reset=0.05,seed=7`: per-request probabilities, deterministic for a seed.

    A dropped connection comes in two modes: `reset-before` drops it before the request runs (nothing applied),
    `reset-after` runs the request and drops it before the answer is sent (applied, the client cannot tell).
    `reset=P` is half of each.
    """

    throttle: float = 0.0
    unavailable: float = 0.0
    reset_before: float = 0.0
    reset_after: float = 0.0
    seed: int = 0

    NAMES = {"429": "throttle", "503": "unavailable", "reset-before": "reset_before", "reset-after": "reset_after",
             "seed": "seed"}

    @classmethod
    def parse(cls, text: str | None) -> "FaultSpec":
        spec = cls()
        if not text:
            return spec
        for part in text.split(","):
            key, sep, value = part.strip().partition("=")
            if not sep or key not in cls.NAMES and key != "reset":
                raise ValueError(f"bad fault '{part}' (allowed: 429=P, 503=P, reset=P, reset-before=P, "
                                 "reset-after=P, seed=N)")
            try:
                number = int(value) if key == "seed" else float(value)
            except ValueError:
                raise ValueError(f"bad fault value '{part}'") from None
            if key != "seed" and not 0 <= number <= 1:
                raise ValueError(f"fault probability out of [0, 1]: '{part}'")
            if key == "reset":
                spec.reset_before = spec.reset_after = number / 2
            else:
                setattr(spec, cls.NAMES[key], number)
        if spec.total > 1:
            raise ValueError("fault probabilities add up to more than 1")
        return spec

    @property
    def total(self) -> float:
        return self.throttle + self.unavailable + self.reset_before + self.reset_after

    @property
    def active(self) -> bool:
        return self.total > 0

    def pick(self, draw: float) -> str | None:
        """The fault for one draw in [0, 1): "429", "503", "reset-before", "reset-after" or None."""
        for name, probability in (("429", self.throttle), ("503", self.unavailable),
                                  ("reset-before", self.reset_before), ("reset-after", self.reset_after)):
            if draw < probability:
                return name
            draw -= probability
        return None


class App:
    """The WSGI application serving every service on one origin."""

    def __init__(self, store, services: list[Service], tenant_id: str, verify_token: Callable[[str], dict],
                 base_url: str = "https://127.0.0.1", latency_ms: int = 0, faults: FaultSpec | None = None):
        self.store = store
        self.services = services
        self.tenant_id = tenant_id
        self.verify_token = verify_token  # jwt -> claims (signature, exp, nbf checked) or raises TokenError
        self.base_url = base_url
        self.latency_ms = latency_ms
        self.faults = faults or FaultSpec()
        self._rng = random.Random(self.faults.seed)
        self._rng_lock = threading.Lock()
        self.metrics = Metrics()
        self.settings: dict[str, Any] = {}  # runtime knobs admin routes change (e.g. token lifetime)
        rules = []
        self._endpoints: list[tuple[Service, Route]] = []
        for service in services:
            for route in service.routes:
                rules.append(Rule(route.rule, methods=[route.method], endpoint=len(self._endpoints)))
                self._endpoints.append((service, route))
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def service_named(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    # -- WSGI ----------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.handle(request, in_batch=False)
        owner = self._owner(request.path)
        for name, value in (owner.headers if owner else {}).items():
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def _owner(self, path: str) -> Service | None:
        return next((s for s in self.services if s.prefix and path.startswith(s.prefix)), None)

    def handle(self, request: Request, in_batch: bool) -> Response:
        started = time.perf_counter()
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, url_vars = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            return self._unmatched(request, exc, in_batch)
        service, route = self._endpoints[endpoint]
        key = f"{route.method} {route.template}"
        ctx = Ctx(request=request, store=self.store, app=self, service=service, route_key=key,
                  url_vars=url_vars, in_batch=in_batch)
        if not in_batch and service.counted:
            self.metrics.count_request(key)
        try:
            response = self._run(ctx, service, route, url_vars)
        except ServiceError as err:
            response = self._refuse(ctx, err)
        except Exception:  # a sandbox bug: answer like the service would with a 500, log it
            traceback.print_exc(file=sys.stderr)
            response = service.render_error(ctx, 500, "InternalServerError", "An internal server error occurred.")
        response.headers.setdefault("request-id", ctx.request_id)
        if not in_batch and service.counted:
            self.metrics.record_time(key, started, ctx.latency_seconds, time.perf_counter())
        return response

    def _run(self, ctx: Ctx, service: Service, route: Route, url_vars: dict) -> Response:
        if not ctx.in_batch and service.name != "admin" and self.latency_ms:
            slept = time.perf_counter()
            time.sleep(self.latency_ms / 1000)
            ctx.latency_seconds = time.perf_counter() - slept
        if service.audience is not None:
            try:
                ctx.claims = self._check_token(ctx, service)
            except TokenError as err:
                return service.render_unauthorized(ctx, err.reason)
        fault = self._draw_fault() if service.faults and not ctx.in_batch and self.faults.active else None
        if fault in ("429", "503"):
            return self._fault_response(ctx, service, int(fault))
        if fault == "reset-before":
            return _drop_connection(ctx.request.environ)
        try:
            if service.check is not None:
                service.check(ctx)
            return route.handler(ctx, **url_vars)
        finally:
            if fault == "reset-after":   # the request ran (or was refused); the client never hears which
                _drop_connection(ctx.request.environ)

    def _refuse(self, ctx: Ctx, err: ServiceError) -> Response:
        """The service's error body for `err`; refusals by the schema are counted apart."""
        if err.schema and ctx.service.counted:
            self.metrics.count_schema_refusal(ctx.route_key, err.message)
        response = ctx.service.render_error(ctx, err.status, err.code, err.message)
        response.headers.update(err.headers)
        if err.details:
            _add_details(response, err.details)
        return response

    def _check_token(self, ctx: Ctx, service: Service) -> dict:
        header = ctx.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError(MISSING_TOKEN)
        claims = self.verify_token(token.strip())
        if claims.get("tid") != self.tenant_id:
            raise TokenError(WRONG_TENANT)
        expected = service.audience(ctx)
        allowed = {expected} if isinstance(expected, str) else set(expected)
        allowed = {a.rstrip("/").lower() for a in allowed}
        if str(claims.get("aud", "")).rstrip("/").lower() not in allowed:
            raise TokenError(WRONG_AUDIENCE)
        return claims

    def _draw_fault(self) -> str | None:
        with self._rng_lock:
            draw = self._rng.random()
        fault = self.faults.pick(draw)
        if fault is not None:
            self.metrics.count_fault(fault)
        return fault

    def _fault_response(self, ctx: Ctx, service: Service, status: int) -> Response:
        if service.fault is not None:
            return service.fault(ctx, status)
        if status == 429:
            response = service.render_error(ctx, 429, service.throttle_code,
                                            "Too many requests. Retry after the time in the Retry-After header.")
        else:
            response = service.render_error(ctx, 503, service.unavailable_code,
                                            "The service is temporarily unavailable. Please retry.")
        response.headers["Retry-After"] = service.retry_after
        return response

    def _unmatched(self, request: Request, exc: Exception, in_batch: bool) -> Response:
        path = request.path
        owner = self._owner(path)
        method_not_allowed = isinstance(exc, MethodNotAllowed)
        if not in_batch and (owner is None or owner.counted):
            self.metrics.count_request(f"{request.method} <unmatched>")
        if owner is None:
            status = 405 if method_not_allowed else 404
            return json_response({"error": {"code": "NotFound" if status == 404 else "MethodNotAllowed",
                                            "message": f"No route for {request.method} {path}"}}, status)
        ctx = Ctx(request=request, store=self.store, app=self, service=owner,
                  route_key=f"{request.method} <unmatched>", url_vars={}, in_batch=in_batch)
        if owner.unknown_path is not None:
            response = self._refuse(ctx, owner.unknown_path(ctx, method_not_allowed))
            response.headers.setdefault("request-id", ctx.request_id)
            return response
        segment = path.rstrip("/").rsplit("/", 1)[-1]
        if method_not_allowed:
            return owner.render_error(ctx, 405, "BadRequest",
                                      f"The HTTP method '{request.method}' is not allowed for '{segment}'.")
        return owner.render_error(ctx, owner.not_found_status, owner.not_found_code,
                                  f"Resource not found for the segment '{segment}'.")


def _add_details(response: Response, details: list[dict]) -> None:
    """`error.details` in a JSON error body (Graph sends them, e.g. NoBackingApplicationObject)."""
    body = json.loads(response.get_data() or b"{}")
    if isinstance(body.get("error"), dict):
        body["error"]["details"] = details
        response.set_data(json.dumps(body, separators=(",", ":")))


def _drop_connection(environ) -> Response:
    """Close the client's TCP connection abruptly (RST); the answer returned never reaches the client."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
    return Response("", status=500)
