"""Entra ID (v2.0 endpoints): OpenID metadata, JWKS, client-credentials tokens. See models.py / routes.py."""
from sandbox.app import Service
from sandbox.identity import models, routes

SERVICE = Service(
    name="identity",
    routes=routes.ROUTES,
    audience=None,
    error=routes.render_error,
    faults=False,
    seed=models.seed,
)
