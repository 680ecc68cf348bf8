"""The Graph v1.0 service as the sandbox app serves it: routes, audience, error bodies, seed hook."""
from __future__ import annotations

from sandbox.app import Route, Service

from . import app_routes, directory_routes
from .batch import batch
from .errors import render_error, render_unauthorized
from .models import Directory

GRAPH_AUDIENCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")


def seed(store, seed_doc: dict, ctx) -> None:
    """Tenant domains, SKUs, users (with licences), groups and `generatedUsers` from the seed."""
    Directory(store, ctx.tenant_id).seed(seed_doc.get("tenant") or {}, seed_doc.get("graph") or {})


SERVICE = Service(
    name="graph",
    routes=[Route("POST", "/v1.0/$batch", batch)] + directory_routes.ROUTES + app_routes.ROUTES,
    audience=lambda ctx: GRAPH_AUDIENCES,
    error=render_error,
    unauthorized=render_unauthorized,
    faults=True,
    seed=seed,
    prefix="/v1.0",
    retry_after="1",
    throttle_code="TooManyRequests",
    unavailable_code="serviceNotAvailable",
)
