"""Graph route declarations: one rule syntax, and the metrics templates Graph's docs use ({id}, {appId}, ...)."""
from __future__ import annotations

import re

from sandbox.app import Route

V = "/v1.0"
TEMPLATE_NAMES = {"key": "id", "app_id": "appId", "fic": "ficId", "assignment": "assignmentId"}


def template(rule: str) -> str:
    """`/v1.0/users/<key>` -> `/v1.0/users/{id}` (the metrics key); other variables keep their name."""
    return re.sub(r"<([^>]+)>", lambda m: "{" + TEMPLATE_NAMES.get(m.group(1), m.group(1)) + "}", rule)


def route(method: str, rule: str, handler, write: bool = False) -> Route:
    return Route(method, rule, handler, template=template(rule), write=write)
