"""Dataverse's schema gate: what the Web API refuses because a name is not in its schema
(sandbox/schema/dataverse-v9.2.json), with the errors of Microsoft Learn's "Troubleshoot Dataverse Web API
client errors" page.

One place for the whole service: `check(ctx)` runs before every Dataverse handler (batch parts included) and
checks the entity set, function or action, the method a function or action is called with, a navigation
segment, an action's parameters and a body's properties; `unknown_path` answers a path no route serves;
`refuse_property` is what query.py raises for an unknown name in $select, $filter, $orderby or $expand.
"""
from __future__ import annotations

import re

from sandbox import schema
from sandbox.app import SchemaRefusal, ServiceError, json_object_body

from .errors import INVALID_PAYLOAD, DataverseError

_API = re.compile(r"^/orgs/[^/]+/api/data/v9\.2/(?P<rest>.+)$")
# served by the service itself, not entity sets of the schema ($batch parts are checked one by one)
_SERVICE_SEGMENTS = ("$batch", "$metadata", "EntityDefinitions")


def refuse_property(name: str, entity: str) -> DataverseError:
    """400 code 0x0, as for `GET accounts?$select=Name`."""
    return DataverseError(400, "0x0", f"Could not find a property named '{name}' on type "
                                      f"'Microsoft.Dynamics.CRM.{entity}'.", schema=True)


def check_property(name: str, entity: str, navigation: bool = False) -> None:
    """A column of `entity` (a lookup as `_x_value`), or with `navigation` also a collection-valued navigation
    property ($filter's any/all); entities the schema does not record are not checked."""
    dataverse = schema.dataverse()
    entry = dataverse.entities.get(entity)
    if entry is None or dataverse.has_attribute(entity, name):
        return
    if navigation and (name in entry["collectionValuedNavigation"] or name in entry["manyToMany"]):
        return
    raise refuse_property(name, entity)


def check_navigation(name: str, entity: str) -> None:
    dataverse = schema.dataverse()
    if entity in dataverse.entities and not dataverse.has_navigation(entity, name):
        raise refuse_property(name, entity)


def unknown_segment(segment: str) -> SchemaRefusal:
    """404 code 0x8006088a, as for `GET Account` (names are case-sensitive)."""
    return SchemaRefusal(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def unknown_path(ctx, method_not_allowed: bool) -> ServiceError:
    """Every path under the org reaches a route; what is left (outside /api/data/v9.2) is an unknown segment."""
    return unknown_segment(ctx.request.path.rstrip("/").rsplit("/", 1)[-1])


def check(ctx) -> None:
    match = _API.match(ctx.request.path)
    if match is None:
        return
    segments = match.group("rest").split("/")
    name = segments[0].split("(", 1)[0]
    dataverse = schema.dataverse()
    if name in _SERVICE_SEGMENTS or name in dataverse.data["unconfirmedOperations"]:
        return
    operation = dataverse.operation(name)
    if operation is not None:
        _check_operation(ctx, name, operation)
        return
    entity = dataverse.entity_for_set(name)
    if entity is None:
        raise unknown_segment(name)
    if len(segments) > 1:
        nav = segments[1].split("(", 1)[0]
        bound = dataverse.operation(nav) if nav.startswith(schema.DATAVERSE_PREFIX) else None
        if bound is not None and bound["bound"] == entity:
            _check_operation(ctx, nav.removeprefix(schema.DATAVERSE_PREFIX), bound)
        elif not (nav.startswith("$") or dataverse.has_navigation(entity, nav) or dataverse.has_attribute(entity, nav)):
            raise unknown_segment(nav)   # unconfirmed: status and code for an unknown navigation segment
        return
    if ctx.request.method in ("POST", "PATCH", "PUT"):
        _check_body(name, entity, json_object_body(ctx.request))


def _check_operation(ctx, name: str, operation: dict) -> None:
    """A function or action called with its own method (else 404 with an empty code); an action's parameters."""
    if ctx.request.method != operation["method"]:
        raise SchemaRefusal(404, "", f"No HTTP resource was found that matches the request URI '{ctx.request.base_url}'.")
    if operation["kind"] != "action":
        return
    for parameter in json_object_body(ctx.request):
        if parameter not in operation["parameters"]:
            # unconfirmed code; the message is OData's, as Dataverse users report it for RemoveSolutionComponent
            raise SchemaRefusal(400, "0x0", f"The parameter '{parameter}' in the request payload is not a valid "
                                            f"parameter for the operation '{name}'.")


def _check_body(entity_set: str, entity: str, body: dict) -> None:
    """Columns and `<navigation>@odata.bind` of a record body, with the page's two payload errors."""
    dataverse = schema.dataverse()
    for key in body:
        name, _, annotation = key.partition("@")
        if annotation == "odata.bind" and not dataverse.has_navigation(entity, name):
            raise SchemaRefusal(400, INVALID_PAYLOAD, (
                f"Error identified in Payload provided by the user for Entity :'{entity_set}'  ---->  "
                f"InnerException : Microsoft.OData.ODataException: An undeclared property '{name}' which only has "
                "property annotations in the payload but no property value was found in the payload. In OData, "
                "only declared navigation properties and declared named streams can be represented as properties "
                "without values."))
        if name and not annotation and not (dataverse.has_attribute(entity, name)
                                            or dataverse.has_navigation(entity, name)):
            raise SchemaRefusal(400, "0x0", (
                "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property "
                f"'{name}' was found in entity 'Microsoft.Dynamics.CRM.{entity}'. ---> "
                "Microsoft.OData.ODataException: Does not support untyped value in non-open type."))
