"""Business Central API v2.0 (companies, companyInformation, salespersonPurchasers). See models.py / routes.py."""
from sandbox.app import Service
from sandbox.bc import models, routes
from sandbox.identity.resources import BUSINESS_CENTRAL_AUDIENCE

SERVICE = Service(
    name="bc",
    routes=routes.ROUTES,
    audience=lambda ctx: BUSINESS_CENTRAL_AUDIENCE,
    error=routes.render_error,
    unauthorized=routes.unauthorized,
    faults=False,
    seed=models.seed,
    prefix="/bc/",
    not_found_code="BadRequest_NotFound",
)
