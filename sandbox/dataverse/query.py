"""Dataverse query options over records: $filter, $select, $expand (one level), $orderby, $top, paging.

Uses the shared sandbox/odata.py in its Dataverse dialect (no `in` operator; Microsoft.Dynamics.CRM.In/NotIn with
`@alias` parameters); turns its errors into Dataverse's 0x80060888; unknown properties are schema_gate's.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Hashable
from urllib.parse import urlencode

from sandbox import odata

from . import errors
from .metadata import BY_SET, Table
from .models import public
from .schema_gate import check_navigation, check_property

MAX_PAGE_SIZE = 5000
_EXPAND = re.compile(r"\s*([A-Za-z_]\w*)\s*(?:\((.*?)\))?\s*(?:,|$)")




def parse_prefer(header: str | None) -> dict[str, str]:
    prefs = {}
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        if name:
            prefs[name.strip().lower()] = value.strip().strip('"')
    return prefs


def check_select(table: Table, fields: list[str] | None) -> None:
    """Names Dataverse's schema gives the table (schema_gate); a known column the sandbox lacks reads as null."""
    for name in fields or []:
        check_property(name, table.logical_name)


def parse_expand(table: Table, text: str | None) -> list[tuple[str, list[str] | None]]:
    """'nav($select=a,b),other' -> [(nav, [a, b]), (other, None)]; one level only, as the sandbox serves it."""
    if not text:
        return []
    result = []
    for match in _EXPAND.finditer(text):
        if not match.group(1):
            continue
        nav, options = match.group(1), match.group(2)
        check_navigation(nav, table.logical_name)
        if nav not in table.collections and nav not in table.lookups:
            raise errors.bad_request(f"The sandbox does not expand '{nav}'.")  # a sandbox limit, not Dataverse's
        fields = None
        for option in (options or "").split(";"):
            key, _, value = option.partition("=")
            if key.strip() == "$select":
                fields = [f.strip() for f in value.split(",") if f.strip()]
            elif key.strip():
                raise errors.bad_request(f"The query option '{key.strip()}' is not supported in $expand by this "
                                         "service.")  # sandbox limit: only nested $select
        target = BY_SET[table.collections.get(nav) or table.lookups[nav]] if (
            table.collections.get(nav) or table.lookups[nav]) in BY_SET else None
        if target is not None:
            check_select(target, fields)
        result.append((nav, fields))
    return result


def _resolve(model, table: Table, doc: dict, path: str):
    """A $filter path: a column, or a collection navigation property (for `any`/`all`)."""
    if path in table.collections:
        return model.related(table.entity_set, doc[table.primary_id], path)
    return odata.default_resolve(doc, path)


def shape(model, table: Table, doc: dict, fields: list[str] | None, annotations: bool,
          expand: list[tuple[str, list[str] | None]] = ()) -> dict:
    """One record on the wire: etag, selected columns, annotations, expanded navigation properties."""
    record = public(doc)
    out = {"@odata.etag": model.etag(table.entity_set, doc[table.primary_id])}
    keep = set(fields) | {table.primary_id} if fields is not None else None
    for name in fields or ():
        record.setdefault(name, None)   # a selected column without a value is served as null
    for key, value in record.items():
        if keep is None or key in keep:
            out[key] = value
            if annotations and key.startswith("_") and key.endswith("_value") and value:
                lookup = key[1:-6]
                target = BY_SET.get(table.lookups.get(lookup, ""))
                out[f"{key}@Microsoft.Dynamics.CRM.associatednavigationproperty"] = lookup
                out[f"{key}@Microsoft.Dynamics.CRM.lookuplogicalname"] = target.logical_name if target else lookup[:-2]
                if target is not None:
                    related = model.store.get(model.kind(target.entity_set), value)
                    if related:
                        out[f"{key}@OData.Community.Display.V1.FormattedValue"] = related.get(target.primary_name)
            elif annotations and isinstance(value, bool):
                out[f"{key}@OData.Community.Display.V1.FormattedValue"] = "Yes" if value else "No"
    for nav, nested in expand:
        if nav in table.collections:
            target = BY_SET[table.collections[nav]]
            related = model.related(table.entity_set, doc[table.primary_id], nav)
            out[nav] = [shape(model, target, item, nested, annotations) for item in related]
        else:
            target = BY_SET.get(table.lookups[nav])
            value = doc.get(f"_{nav}_value")
            related = model.store.get(model.kind(target.entity_set), value) if (target and value) else None
            out[nav] = shape(model, target, related, nested, annotations) if related else None
    return out


def _fold(value):
    """A column value as Dataverse's case-insensitive `eq` compares it."""
    return value.lower() if isinstance(value, str) else value


@functools.lru_cache(maxsize=None)
def column_key(column: str):
    """The store index key function of one column (one function per column, so the store keeps one index)."""
    def keys_of(doc: dict) -> tuple:
        value = _fold(doc.get(column))
        return (value,) if isinstance(value, Hashable) else ()
    return keys_of


def _narrowed(model, table: Table, docs: list[dict], predicate: odata.Filter) -> list[dict]:
    """The records that can match: those the store's index holds for the filter's first `column eq literal` term
    (the filter still runs on each of them); all of them when the filter has no such term."""
    for path, literal in predicate.equalities():
        if "/" in path or path in table.collections or not isinstance(_fold(literal), Hashable):
            continue
        ids = model.store.ids_by(model.kind(table.entity_set), column_key(path), _fold(literal))
        return [doc for doc in docs if doc.get(table.primary_id) in ids]
    return docs


def collection(model, table: Table, docs: list[dict], args, prefer: dict, base_url: str,
               context_url: str, whole_table: bool = False) -> tuple[dict, list[str]]:
    """The JSON of a collection GET and the preferences applied; `whole_table`: `docs` are every stored record of
    the table, so an indexed equality may narrow them before the filter runs."""
    try:
        fields = odata.parse_select(args.get("$select"))
        check_select(table, fields)
        expand = parse_expand(table, args.get("$expand"))
        text = args.get("$filter")
        if text:
            aliases = {k: v for k, v in args.items() if k.startswith("@")}
            predicate = odata.Filter(text, resolve=lambda doc, path: _resolve(model, table, doc, path),
                                     case_insensitive=True, dialect=odata.DATAVERSE, aliases=aliases)
            for name in predicate.properties():
                check_property(name, table.logical_name, navigation=True)   # any/all over a navigation
            if whole_table:
                docs = _narrowed(model, table, docs, predicate)
            docs = [doc for doc in docs if predicate(doc)]
        for name in (args.get("$orderby") or "").split(","):
            if name.strip():
                check_property(name.split()[0], table.logical_name)
        docs = odata.order_by(docs, args.get("$orderby"))
        total = len(docs)
        top = odata.parse_top(args.get("$top"))
        if top is not None:
            docs = docs[:top]
        if "$skip" in args:
            raise errors.bad_request("The query parameter $skip is not supported")
        applied = []
        page_size = MAX_PAGE_SIZE
        if "odata.maxpagesize" in prefer:
            try:
                page_size = int(prefer["odata.maxpagesize"])
            except ValueError:
                raise errors.bad_request("Invalid odata.maxpagesize preference.") from None
            if not 0 < page_size <= MAX_PAGE_SIZE:
                raise errors.bad_request(f"Invalid page size specified: '{page_size}'. Must be between 1 and "
                                         f"{MAX_PAGE_SIZE} inclusive.")
            applied.append(f"odata.maxpagesize={page_size}")
        page, token = odata.paginate(docs, page_size, args.get("$skiptoken"))
    except odata.ODataError as error:
        raise errors.bad_request(str(error)) from None
    annotations = "odata.include-annotations" in prefer
    if annotations:
        applied.append(f'odata.include-annotations="{prefer["odata.include-annotations"]}"')
    body = {"@odata.context": context_url}
    count = (args.get("$count") or "").lower()
    if count not in ("", "true", "false"):
        raise errors.bad_request(f"Invalid value '{args.get('$count')}' for $count query option found.")
    if count == "true":   # Dataverse caps the count at 5000
        body["@odata.count"] = min(total, MAX_PAGE_SIZE)
    body["value"] = [shape(model, table, doc, fields, annotations, expand) for doc in page]
    if token:
        query = [(k, v) for k, v in args.items(multi=True) if k != "$skiptoken"] + [("$skiptoken", token)]
        body["@odata.nextLink"] = f"{base_url}?{urlencode(query)}"
    return body, applied
