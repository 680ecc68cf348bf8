"""BC's schema gate: what API v2.0 refuses because a name is not in its schema
(sandbox/schema/business-central-v2.0.json).

One place for the whole service: `check(ctx)` runs before every BC handler and checks the entity set, the
fields named in $select, $filter and $orderby, and a body's fields; `unknown_path` answers a path no route serves.
"""
from __future__ import annotations

import re

from sandbox import odata, schema
from sandbox.app import SchemaRefusal, ServiceError, json_object_body

_API = re.compile(r"^/bc/v2\.0/[^/]+/[^/]+/api/v2\.0/(?P<rest>.*)$")


def _entity_sets(path: str) -> list[str] | None:
    """`.../api/v2.0/companies(1)/salespeoplePurchasers(2)` -> ["companies", "salespeoplePurchasers"]."""
    match = _API.match(path)
    if match is None:
        return None
    return [segment.split("(", 1)[0] for segment in match.group("rest").strip("/").split("/")]


def _first_unknown(sets: list[str]) -> str | None:
    bc = schema.business_central()
    if not bc.has_root(sets[0]):
        return sets[0]
    if len(sets) > 1 and not bc.has_company_entity_set(sets[1]):
        return sets[1]
    return None


def unknown_segment(segment: str) -> SchemaRefusal:
    # status unconfirmed: BC's "Error codes" page gives the code and message, not the status
    return SchemaRefusal(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{segment}'.")


def unknown_path(ctx, method_not_allowed: bool) -> ServiceError:
    """An unserved path: BC's unknown-segment error; a known entity set the sandbox lacks is 501."""
    path, method = ctx.request.path, ctx.request.method
    sets = _entity_sets(path)
    if not sets:
        return unknown_segment(path.rstrip("/").rsplit("/", 1)[-1])
    unknown = _first_unknown(sets)
    if unknown is not None:
        return unknown_segment(unknown)
    if method_not_allowed:
        return ServiceError(405, "BadRequest_MethodNotAllowed", f"'{method}' requests for '{sets[-1]}' of EdmType "
                            "'Entity' are not allowed within Microsoft Dynamics NAV OData web services.")
    return ServiceError(501, "NotImplemented", f"The sandbox does not serve {method} {path}.")


def check(ctx) -> None:
    """Entity sets known to API v2.0; fields in the query options and the body known to the entity."""
    sets = _entity_sets(ctx.request.path)
    if not sets:
        return
    unknown = _first_unknown(sets)
    if unknown is not None:
        raise unknown_segment(unknown)
    bc = schema.business_central()
    entity = bc.entity_for_set(sets[-1])
    if entity is None or not bc.fields(entity):
        return
    for name in _query_fields(ctx.request.args):
        if not bc.has_field(entity, name.split("/", 1)[0]):
            raise SchemaRefusal(400, "BadRequest",
                                f"Could not find a property named '{name}' on type 'Microsoft.NAV.{entity}'.")
    for name in _body_fields(ctx):
        if not bc.has_field(entity, name):
            raise SchemaRefusal(400, "BadRequest", f"The property '{name}' does not exist on type "
                                f"'Microsoft.NAV.{entity}'. Make sure to only use property names that are "
                                "defined by the type.")


def _query_fields(args) -> list[str]:
    """Fields named by $select, $orderby and $filter; a syntax error is left to the handler's own 400."""
    try:
        names = [*(odata.parse_select(args.get("$select")) or ()),
                 *(part.split()[0] for part in (args.get("$orderby") or "").split(",") if part.strip())]
        if args.get("$filter"):
            names += sorted(odata.Filter(args["$filter"]).properties())
    except odata.ODataError:
        return []
    return names


def _body_fields(ctx) -> list[str]:
    """Field names of a JSON object body (annotations such as @odata.etag aside); none for other bodies."""
    if ctx.request.method not in ("POST", "PATCH", "PUT"):
        return []
    return [key for key in json_object_body(ctx.request) if "@" not in key]
