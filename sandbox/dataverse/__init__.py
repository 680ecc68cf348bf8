"""The sandbox's Dataverse Web API v9.2 service: one org per `dataverse: orgs:` seed entry, at /orgs/<org>.

Layout as every service: models.py (records and rules), routes.py (wire), errors.py (codes, messages, error
bodies), seed.py (seed hook); plus solution_imports.py (the async import state machine), metadata.py (tables),
query.py (OData options), batch.py ($batch) and schema_gate.py (refuses names Dataverse's schema lacks).
Solution zips are read by solution_import/package.py.
"""
from __future__ import annotations

from sandbox.app import Service

from . import errors, schema_gate, seed
from .routes import routes


def audience(ctx) -> str:
    """The token audience is the org URL, as endpoints.json gives it."""
    return f"{ctx.base_url}/orgs/{ctx.url_vars.get('org', '')}"


SERVICE = Service(
    name="dataverse",
    routes=routes(),
    audience=audience,
    error=errors.render_error,
    unauthorized=errors.render_unauthorized,
    faults=True,
    seed=seed.seed,
    prefix="/orgs/",
    fault=errors.render_fault,
    check=schema_gate.check,
    unknown_path=schema_gate.unknown_path,
    # "use the integer value returned from the x-ms-dop-hint response header" (Send parallel requests,
    # https://learn.microsoft.com/power-apps/developer/data-platform/send-parallel-requests); 4: a small environment's
    headers={"x-ms-dop-hint": "4"},
)
