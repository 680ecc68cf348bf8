"""Graph's handling of request bodies and OData query options ($filter, $select, $top, $count, paging)."""
from __future__ import annotations

import json
from typing import Any, Iterable
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from sandbox import odata
from sandbox.app import json_response

from .errors import bad_request
from .schema_gate import check_property

MAX_TOP = 999
DEFAULT_PAGE = 100
_ADVANCED = ("ne", "not", "endswith")


def read_json(ctx, required: bool = True) -> Any:
    """The JSON body; Graph's own 400 for a missing or unreadable one."""
    raw = ctx.request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise bad_request("Empty Payload. JSON content expected.")
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set and "
                          "payload is of valid JSON format.") from None


def eventual(ctx) -> bool:
    return ctx.request.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"


def selection(ctx, type_name: str) -> list[str] | None:
    """`$select` fields; a property Graph's schema does not give the type is Graph's 400 (schema_gate)."""
    try:
        fields = odata.parse_select(ctx.request.args.get("$select"))
    except odata.ODataError as err:
        raise bad_request(str(err)) from None
    for name in fields or ():
        check_property(name, type_name, select=True)
    return fields


def shape(view: dict, fields: list[str] | None, default: Iterable[str] | None) -> dict:
    """One entity as served: the `$select`ed fields, else the type's default set (None: everything)."""
    if fields is None:
        return {k: v for k, v in view.items() if k in set(default)} if default is not None else view
    shaped = odata.select(view, fields, always=("id",))
    for name in fields:
        shaped.setdefault(name, None)  # Graph answers a selected property without a value with null
    return shaped


def entity(ctx, view: dict, context: str, default: Iterable[str] | None = None,
           type_name: str = "entity", status: int = 200):
    fields = selection(ctx, type_name)
    body = {"@odata.context": f"{ctx.base_url}/v1.0/$metadata#{context}/$entity"}
    body.update(shape(view, fields, default))
    return json_response(body, status)


def created(ctx, context: str, view: dict, location: str) -> Response:
    """A new entity as Graph answers a POST: 201, the whole view (no $select) and its `Location`."""
    response = json_response({"@odata.context": f"{ctx.base_url}/v1.0/$metadata#{context}/$entity", **view}, 201)
    response.headers["Location"] = f"{ctx.base_url}/v1.0/{location}"
    return response


def no_content() -> Response:
    return Response(status=204)


def collection(ctx, views: list[dict], context: str, default: Iterable[str] | None = None,
               type_name: str = "entity", max_top: int = MAX_TOP):
    """A filtered, selected page of `views` with `@odata.nextLink` (and `@odata.count` when asked)."""
    args = ctx.request.args
    fields = selection(ctx, type_name)
    want_count = args.get("$count", "").lower() == "true"
    if want_count and not eventual(ctx):
        # Unconfirmed wording; Graph requires ConsistencyLevel: eventual for $count on directory objects.
        raise bad_request("$count is not supported without the ConsistencyLevel header set to 'eventual'.",
                          code="Request_UnsupportedQuery")
    text = args.get("$filter")
    try:
        if text:
            predicate = odata.Filter(text, case_insensitive=True)
            if not eventual(ctx) and _advanced(predicate.ast):
                raise bad_request("Unsupported Query.", code="Request_UnsupportedQuery")
            for prop in predicate.properties():
                check_property(prop, type_name)
            views = [v for v in views if predicate(v)]
        for part in (args.get("$orderby") or "").split(","):
            if part.strip():
                check_property(part.split()[0], type_name)
        views = odata.order_by(views, args.get("$orderby"))
        top = odata.parse_top(args.get("$top"), max_top)
        if top == 0:
            raise odata.ODataError(f"Invalid page size specified: '0'. Must be between 1 and {max_top} inclusive.")
        page, token = odata.paginate(views, top or DEFAULT_PAGE, args.get("$skiptoken"))
    except odata.ODataError as err:
        raise bad_request(str(err)) from None
    body: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/v1.0/$metadata#{context}"}
    if want_count:
        body["@odata.count"] = len(views)
    if token:
        kept = [(k, v) for k, v in args.items(multi=True) if k != "$skiptoken"] + [("$skiptoken", token)]
        body["@odata.nextLink"] = f"{ctx.base_url}{ctx.request.path}?{urlencode(kept, safe='$,')}"
    body["value"] = [shape(v, fields, default) for v in page]
    return json_response(body)


def _advanced(node) -> bool:
    """Does the filter use an operator Graph serves only as an advanced query (ne, not, endsWith)?"""
    if not isinstance(node, tuple):
        return False
    if node[0] == "not" or (node[0] == "cmp" and node[1] == "ne") or (node[0] == "call" and node[1] == "endswith"):
        return True
    return any(_advanced(child) for child in node[1:] if isinstance(child, tuple)) or any(
        _advanced(item) for child in node[1:] if isinstance(child, list) for item in child)
