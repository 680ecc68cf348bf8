"""Graph's schema gate: what Graph v1.0 refuses because a name is not in its schema (sandbox/schema/graph-v1.0.json).

One place for the whole service: `check(ctx)` runs before every Graph handler (batch parts included) and checks
the path, the method and the body's property or parameter names; `unknown_path` answers a path no route serves;
`refuse_property` is what query.py raises for an unknown name in $select, $filter or $orderby.
"""
from __future__ import annotations

from functools import cache

from sandbox import schema
from sandbox.app import SchemaRefusal, ServiceError, json_object_body

BATCH = "/v1.0/$batch"


def refuse_property(name: str, type_name: str, select: bool = False) -> SchemaRefusal:
    """400 BadRequest; Graph prefixes $select/$expand parse errors with "Parsing OData Select and Expand failed"."""
    message = f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
    return SchemaRefusal(400, "BadRequest", f"Parsing OData Select and Expand failed: {message}" if select else message)


def check_property(name: str, type_name: str, select: bool = False) -> None:
    """A property of `type_name` (inherited ones included); the first segment of a path such as `a/b`.

    A directoryObject collection (members, memberOf) also takes its derived types' properties, as Graph's own
    example `GET /groups/{id}/members?$select=displayName,id` does.
    """
    graph = schema.graph()
    head = name.split("/", 1)[0]
    if not graph.has_type(type_name):
        return
    types = _derived(type_name) if type_name == "directoryObject" else (type_name,)
    if not any(graph.has_property(t, head) for t in types):
        raise refuse_property(head, type_name, select)


@cache
def _derived(type_name: str) -> tuple[str, ...]:
    """`type_name` and every type whose base chain reaches it."""
    types = schema.graph().data["types"]

    def reaches(name):
        while name:
            if name == type_name:
                return True
            name = types[name]["base"]
        return False
    return tuple(t for t in types if reaches(t))


def unknown_segment(segment: str) -> SchemaRefusal:
    return SchemaRefusal(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def unknown_path(ctx, method_not_allowed: bool) -> ServiceError:
    """An unserved path: Graph's 400 for the first unknown segment; a Graph path the sandbox lacks is 501."""
    path, method = ctx.request.path, ctx.request.method
    segment = schema.graph().unknown_segment(path)
    if segment is not None:
        return unknown_segment(segment)
    if method_not_allowed and schema.graph().template(path) and method not in schema.graph().methods(path):
        return _wrong_method()
    return ServiceError(501, "NotImplemented", f"The sandbox does not serve {method} {path}.")


def check(ctx) -> None:
    """Path and method known to Graph; a body's properties (or an action's parameters) known too."""
    path, method = ctx.request.path, ctx.request.method
    graph = schema.graph()
    if path == BATCH or not graph.covers(path):
        return
    template = graph.template(path)
    if template is None:
        raise unknown_segment(graph.unknown_segment(path) or path.rsplit("/", 1)[-1])
    spec = graph.data["paths"][template]["methods"].get(method)
    if spec is None:
        raise _wrong_method()
    body = json_object_body(ctx.request) if method in ("POST", "PATCH", "PUT") else None
    if not body:
        return
    if "parameters" in spec:
        action = template.rsplit("/", 1)[-1]
        for name in body:
            if name not in spec["parameters"]:
                raise SchemaRefusal(400, "BadRequest", f"The parameter '{name}' in the request payload is not a "
                                                       f"valid parameter for the operation '{action}'.")
    elif "body" in spec:
        for key in body:
            name = key.split("@", 1)[0]   # members@odata.bind binds the navigation property members
            if name and not graph.has_property(spec["body"], name):
                raise SchemaRefusal(400, "Request_BadRequest",
                                    f"Property '{name}' does not exist as a declared property or extension property.")


def _wrong_method() -> SchemaRefusal:
    # unconfirmed: the wording Graph's directory uses for a method a path does not support
    return SchemaRefusal(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
