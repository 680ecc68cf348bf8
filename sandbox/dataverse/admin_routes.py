"""Dataverse test helpers under /_sandbox (no token, loopback only; see sandbox/README.md).

- `POST /_sandbox/orgs/{org}/solution-imports/hold` `{"seconds": N}`: every solution import running in the org
  stays in progress until N seconds from now, as a long import does, so that another import meets Dataverse's
  one solution operation at a time; `{"seconds": 0}` lets them finish now. Answers `{"held": [asyncoperationid,
  ...]}`; 409 when no import is running.
"""
from __future__ import annotations

from werkzeug.wrappers import Response

from sandbox.app import Route, ServiceError, json_response

from .models import OrgModel
from .solution_imports import SolutionImports


def hold_imports(ctx, org: str) -> Response:
    body = ctx.request.get_json(silent=True)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ServiceError(400, "BadRequest", 'Body must be {"seconds": <a number, 0 or more>}.')
    model = OrgModel(ctx.store, org)
    if not model.exists():
        raise ServiceError(404, "NotFound", f"No Dataverse org {org}.")
    imports = SolutionImports(model)
    imports.advance()
    held = imports.hold(float(seconds))
    if not held:
        raise ServiceError(409, "Conflict", f"No solution import is running in org {org}.")
    return json_response({"held": held})


ROUTES = [
    Route("POST", "/_sandbox/orgs/<org>/solution-imports/hold", hold_imports),
]
