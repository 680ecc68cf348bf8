"""Business Central API v2.0 (companies, companyInformation, salespeoplePurchasers).

Layout as every service: models.py (state and rules), routes.py (wire), errors.py (error bodies), seed.py (seed hook);
schema_gate.py refuses names API v2.0's schema lacks.
"""
from sandbox.app import Service
from sandbox.bc import errors, routes, schema_gate, seed
from sandbox.identity.resources import BUSINESS_CENTRAL_AUDIENCE

SERVICE = Service(
    name="bc",
    routes=routes.ROUTES,
    audience=lambda ctx: BUSINESS_CENTRAL_AUDIENCE,
    error=errors.render_error,
    unauthorized=errors.render_unauthorized,
    faults=False,
    seed=seed.seed,
    prefix="/bc/",
    check=schema_gate.check,
    unknown_path=schema_gate.unknown_path,
)
