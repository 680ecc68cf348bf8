"""Microsoft Graph v1.0 in the sandbox.

Layout as every service: models.py (directory state and rules; apps.py for applications and grants), routes.py
(all routes; directory_routes.py, app_routes.py and batch.py are the wire layer), errors.py (error bodies),
seed.py (seed hook); schema_gate.py refuses names Graph's schema lacks.
"""
from mscloud.wellknown import GRAPH_APP_ID
from sandbox.app import Service

from . import errors, routes, schema_gate, seed

GRAPH_AUDIENCES = ("https://graph.microsoft.com", GRAPH_APP_ID)

SERVICE = Service(
    name="graph",
    routes=routes.ROUTES,
    audience=lambda ctx: GRAPH_AUDIENCES,
    error=errors.render_error,
    unauthorized=errors.render_unauthorized,
    faults=True,
    seed=seed.seed,
    prefix="/v1.0",
    retry_after="1",
    throttle_code="TooManyRequests",
    unavailable_code="serviceNotAvailable",
    check=schema_gate.check,
    unknown_path=schema_gate.unknown_path,
)
