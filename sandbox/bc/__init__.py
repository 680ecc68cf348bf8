"""Business Central API v2.0 (companies, companyInformation, salespersonPurchasers).

Layout as every service: models.py (state and rules), routes.py (wire), errors.py (error bodies), seed.py (seed hook).
"""
from sandbox.app import Service
from sandbox.bc import errors, routes, seed
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
    not_found_code="BadRequest_NotFound",
)
