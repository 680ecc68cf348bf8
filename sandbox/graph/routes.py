"""Graph's wire layer: every route the service serves ($batch, the directory, applications and their grants)."""
from __future__ import annotations

from sandbox.app import Route

from . import app_routes, directory_routes
from .batch import batch

ROUTES = [Route("POST", "/v1.0/$batch", batch)] + directory_routes.ROUTES + app_routes.ROUTES
