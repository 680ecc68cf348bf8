"""Microsoft Graph v1.0 in the sandbox: state in models.py/apps.py, wire layer in *_routes.py, batch.py."""
from .routes import SERVICE

__all__ = ["SERVICE"]
