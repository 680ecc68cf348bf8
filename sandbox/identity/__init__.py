"""Entra ID (v2.0 endpoints): OpenID metadata, JWKS, client-credentials tokens.

Layout as every service: models.py (rules: credentials, token claims), routes.py (wire), errors.py (AADSTS bodies),
seed.py (seed hook); plus resources.py (well-known resource apps), tokens.py (signing key), admin_routes.py.
"""
from sandbox.app import Service
from sandbox.identity import errors, routes, seed

SERVICE = Service(
    name="identity",
    routes=routes.ROUTES,
    audience=None,
    error=errors.render_error,
    faults=False,
    seed=seed.seed,
)
