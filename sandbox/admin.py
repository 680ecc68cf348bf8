"""`/_sandbox/...`: metrics and test helpers. No token, loopback callers only (the server binds 127.0.0.1 anyway)."""
from __future__ import annotations

from werkzeug.wrappers import Response

from sandbox.app import Route, ServiceError, Service, json_response

_LOOPBACK = {"127.0.0.1", "::1"}


def _loopback_only(handler):
    def guarded(ctx, **kwargs) -> Response:
        if ctx.request.remote_addr not in _LOOPBACK:
            raise ServiceError(403, "Forbidden", "The sandbox admin API answers loopback callers only.")
        return handler(ctx, **kwargs)

    guarded.__name__ = handler.__name__
    return guarded


def _json_body(ctx) -> dict:
    body = ctx.request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError(400, "BadRequest", "A JSON object body is required.")
    return body


@_loopback_only
def metrics(ctx) -> Response:
    return json_response(ctx.app.metrics.snapshot())


@_loopback_only
def reset_metrics(ctx) -> Response:
    ctx.app.metrics.reset()
    return Response(status=204)


@_loopback_only
def health(ctx) -> Response:
    return json_response({"status": "ok", "tenant_id": ctx.tenant_id})


@_loopback_only
def get_settings(ctx) -> Response:
    return json_response(ctx.app.settings)


@_loopback_only
def patch_settings(ctx) -> Response:
    """Runtime knobs for tests, e.g. {"tokenLifetimeSeconds": 5}; unknown keys are rejected."""
    body = _json_body(ctx)
    allowed = {"tokenLifetimeSeconds"}
    unknown = set(body) - allowed
    if unknown:
        raise ServiceError(400, "BadRequest", f"unknown setting(s) {sorted(unknown)} (allowed: {sorted(allowed)})")
    if "tokenLifetimeSeconds" in body:
        value = body["tokenLifetimeSeconds"]
        if not isinstance(value, int) or value < 1:
            raise ServiceError(400, "BadRequest", "tokenLifetimeSeconds must be a positive integer")
    ctx.app.settings.update(body)
    return json_response(ctx.app.settings)


def extra_routes() -> list[Route]:
    """Admin helpers other services contribute (identity's federated issuers, Dataverse's import hold)."""
    from sandbox.dataverse import admin_routes as dataverse_admin
    from sandbox.identity import admin_routes as identity_admin

    return identity_admin.ROUTES + dataverse_admin.ROUTES


def build_service() -> Service:
    routes = [
        Route("GET", "/_sandbox/metrics", metrics),
        Route("POST", "/_sandbox/metrics/reset", reset_metrics),
        Route("GET", "/_sandbox/health", health),
        Route("GET", "/_sandbox/settings", get_settings),
        Route("PATCH", "/_sandbox/settings", patch_settings),
    ]
    routes += [Route(r.method, r.rule, _loopback_only(r.handler), r.template) for r in extra_routes()]
    return Service(name="admin", routes=routes, prefix="/_sandbox", counted=False)
