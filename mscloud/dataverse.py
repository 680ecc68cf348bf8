"""DataverseClient: the Dataverse Web API v9.2 of one org over the HttpCore (its URL is the token audience)."""
from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from mscloud.batchresult import BatchResult
from mscloud.cloud import Cloud
from mscloud.concurrency import DOP_HINT_HEADER, dataverse_degree, parse_dop_hint, run_all
from mscloud.errors import NotFound, ServiceError, error_from_response
from mscloud.multipart import decode_batch, encode_batch
from mscloud.odata import odata_string
from mscloud.paging import collect

SERVICE = "dataverse"
API_PATH = "api/data/v9.2"
DATAVERSE_BATCH_LIMIT = 1000
MAX_PAGE_SIZE = 5000
ODATA_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
_GUID = re.compile(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$")


def entity_id_from_header(value: str | None) -> str | None:
    """The GUID at the end of `OData-EntityId: <org>/api/data/v9.2/<set>(<guid>)`."""
    match = _GUID.search(value or "")
    return match.group(1).lower() if match else None


def query_params(select=None, filter=None, expand=None, orderby=None, top=None) -> dict:
    params = {}
    if select:
        params["$select"] = select if isinstance(select, str) else ",".join(select)
    if filter:
        params["$filter"] = filter
    if expand:
        params["$expand"] = expand
    if orderby:
        params["$orderby"] = orderby
    if top:
        params["$top"] = str(top)
    return params


# Dataverse refuses URLs longer than about 32 KB (32,768 characters), so a filter over a long list of values is
# split: at most IN_MAX_VALUES values and IN_MAX_CHARS characters of quoted values per query (URL encoding of
# quotes, commas and '@' keeps that well under the limit).
IN_MAX_VALUES = 500
IN_MAX_CHARS = 12_000
IN_FUNCTION = "Microsoft.Dynamics.CRM.In"


def in_filter(property_name: str, values) -> str:
    """`property_name` is one of `values`, the way Dataverse documents it.

    Its Web API is OData 4.0 and has no `in` operator; the query function Microsoft.Dynamics.CRM.In takes
    PropertyValues as Collection(Edm.String), so every value is a quoted string, GUIDs included.
    """
    listed = ",".join(odata_string(v) for v in values)
    return f"{IN_FUNCTION}(PropertyName={odata_string(property_name)},PropertyValues=[{listed}])"


def in_filters(property_name: str, values, max_values: int = IN_MAX_VALUES, max_chars: int = IN_MAX_CHARS) -> list[str]:
    """`in_filter`s covering `values` in order, each within the URL budget above (none for no values)."""
    filters, group, used = [], [], 0
    for value in values:
        cost = len(odata_string(value)) + 3
        if group and (len(group) >= max_values or used + cost > max_chars):
            filters.append(in_filter(property_name, group))
            group, used = [], 0
        group.append(value)
        used += cost
    if group:
        filters.append(in_filter(property_name, group))
    return filters


def even_chunks(items: list, limit: int) -> list[list]:
    """As few chunks of at most `limit` as plain slicing gives, of even sizes (1001 -> 501 + 500, not 1000 + 1), so
    chunks sent at the same time finish together."""
    if not items:
        return []
    count = -(-len(items) // limit)
    size = -(-len(items) // count)
    return [items[start:start + size] for start in range(0, len(items), size)]


def _key(id_: str) -> str:
    return quote(str(id_).strip("{}"), safe="=,'")


class DataverseClient:
    def __init__(self, http, org_url: str):
        self.http = http
        self.org_url = org_url.rstrip("/")
        self.api = f"{self.org_url}/{API_PATH}/"
        self.scope = Cloud.dataverse_scope(self.org_url)
        self.dop_hint: int | None = None   # Dataverse's recommended degree of parallelism, from its latest answer

    def request(self, method: str, path: str, *, params=None, json=None, data=None, headers=None,
                idempotent=None, ok_statuses=()):
        url = path if path.startswith("https://") else f"{self.api}{path.lstrip('/')}"
        merged = {**ODATA_HEADERS, **(headers or {})}
        if json is not None:
            merged.setdefault("Content-Type", "application/json")
        response = self.http.request(method, url, service=SERVICE, scope=self.scope, params=params, json=json,
                                     data=data, headers=merged, idempotent=idempotent, ok_statuses=ok_statuses)
        self.dop_hint = parse_dop_hint(response.headers.get(DOP_HINT_HEADER)) or self.dop_hint
        return response

    @staticmethod
    def _body(response):
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def whoami(self) -> dict:
        return self._body(self.request("GET", "WhoAmI"))

    def list(self, entity_set: str, select=None, filter=None, expand=None, orderby=None, top=None,
             page_size: int = MAX_PAGE_SIZE) -> list[dict]:
        """Every row across pages (Prefer: odata.maxpagesize, then @odata.nextLink)."""
        headers = {"Prefer": f"odata.maxpagesize={min(page_size, MAX_PAGE_SIZE)}"}
        params = query_params(select, filter, expand, orderby, top)
        return collect(lambda url, query: self._body(self.request("GET", url, params=query, headers=headers)),
                       f"{self.api}{entity_set}", params)

    def get(self, entity_set: str, id_: str, select=None, expand=None) -> dict:
        return self._body(self.request("GET", f"{entity_set}({_key(id_)})", params=query_params(select, expand=expand)))

    def create(self, entity_set: str, body: dict, *, idempotent: bool | None = None) -> str | None:
        """Create a row; the id comes from the OData-EntityId header (204, no body)."""
        response = self.request("POST", entity_set, json=body, idempotent=idempotent)
        return entity_id_from_header(response.headers.get("OData-EntityId"))

    def update(self, entity_set: str, id_: str, body: dict, if_match: str | None = None) -> None:
        """PATCH a row; if_match='*' refuses to create (no upsert), an ETag refuses a stale write (412)."""
        headers = {"If-Match": if_match} if if_match else None
        self.request("PATCH", f"{entity_set}({_key(id_)})", json=body, headers=headers,
                     idempotent=True)

    def delete(self, entity_set: str, id_: str, if_match: str | None = None, missing_ok: bool = False) -> None:
        """Delete one record; with missing_ok a record that is already gone (404) counts as deleted, which makes the
        DELETE idempotent: after a dropped connection it is sent again and a 404 then means the first one ran."""
        headers = {"If-Match": if_match} if if_match else None
        try:
            self.request("DELETE", f"{entity_set}({_key(id_)})", headers=headers, idempotent=missing_ok or None)
        except NotFound:
            if not missing_ok:
                raise

    def ref_url(self, entity_set: str, id_: str) -> str:
        return f"{self.api}{entity_set}({_key(id_)})"

    def associate(self, entity_set: str, id_: str, nav: str, target_set: str, target_id: str) -> None:
        self.request("POST", f"{entity_set}({_key(id_)})/{nav}/$ref",
                     json={"@odata.id": self.ref_url(target_set, target_id)})

    def disassociate(self, entity_set: str, id_: str, nav: str, target_id: str) -> None:
        self.request("DELETE", f"{entity_set}({_key(id_)})/{nav}({_key(target_id)})/$ref")

    def action(self, name: str, body: dict | None = None, *, idempotent: bool | None = None) -> dict | None:
        """An unbound (or `set(id)/Microsoft.Dynamics.CRM.X`) action: POST with parameters as JSON."""
        return self._body(self.request("POST", name, json=body or {}, idempotent=idempotent))

    def function(self, expression: str, params: dict | None = None) -> dict | None:
        """A function call such as `RetrieveSolutionImportResult(ImportJobId=<id>)`."""
        return self._body(self.request("GET", expression, params=params))

    def batch(self, ops: list[dict], changeset: bool = True, *, raise_for_errors: bool = True,
              independent: bool = False) -> list[BatchResult]:
        """Ops through multipart $batch, ≤1000 per request, each chunk one atomic change set (changeset=True).

        Chunks go one after another, in op order, stopping at a failed one; with `independent` (no op depends on
        another's outcome or order) up to `degree()` at a time (mscloud/concurrency.py), every chunk sent.
        A failed part (or a failed change set, which Dataverse answers with the one failing part) raises
        that part's typed error, the first in op order.
        ops: {"method", "url" relative to api/data/v9.2/, "body", "headers"}.
        """
        chunks = even_chunks(ops, DATAVERSE_BATCH_LIMIT)
        answers = run_all(lambda chunk: self._send_batch(chunk, changeset, raise_for_errors), chunks,
                          self.degree() if independent else 1)
        return [part for parts in answers for part in parts]

    def degree(self) -> int:
        """How many requests to this org at a time: its latest x-ms-dop-hint, within the configured cap."""
        return dataverse_degree(self.dop_hint)

    def _send_batch(self, chunk: list[dict], changeset: bool, raise_for_errors: bool) -> list[BatchResult]:
        api_path = urlsplit(self.api).path
        content_type, body = encode_batch(chunk, api_path, changeset)
        response = self.request("POST", "$batch", data=body.encode(), headers={"Content-Type": content_type},
                                ok_statuses=(400, 409, 412, 404, 403))
        answer_type = response.headers.get("Content-Type", "")
        if not answer_type.lower().startswith("multipart/"):
            raise error_from_response(SERVICE, response.status_code, response.headers, response.content,
                                      "POST", urlsplit(response.url or self.api).path)
        parts = decode_batch(answer_type, response.content)
        failed = next((p for p in parts if not p.ok), None)
        if failed is not None and raise_for_errors:
            raise _part_error(failed, chunk, parts, response.headers)
        if response.status_code >= 300 and failed is None and raise_for_errors:
            raise ServiceError(SERVICE, response.status_code, None, "the $batch failed without a failing part",
                               None, "POST", "$batch")
        return parts


def _part_error(failed: BatchResult, chunk: list[dict], parts: list[BatchResult], batch_headers) -> ServiceError:
    """The failing part's typed error, naming its request when the answer lines up with the request order."""
    index = parts.index(failed)
    op = chunk[index] if len(parts) == len(chunk) else None
    headers = {**{k: v for k, v in (batch_headers or {}).items()}, **failed.headers}
    return error_from_response(SERVICE, failed.status, headers, failed.body,
                               op["method"].upper() if op else "POST",
                               op["url"].split("?")[0] if op else "$batch (change set)")

