"""GraphClient: Microsoft Graph v1.0 over the HttpCore; JSON $batch in chunks of 20 with throttled-item retry."""
from __future__ import annotations

from mscloud import retry
from mscloud.batchresult import BatchResult
from mscloud.concurrency import graph_degree, run_all
from mscloud.errors import Throttled, error_from_response
from mscloud.paging import collect

SERVICE = "graph"
GRAPH_BATCH_LIMIT = 20
_RETRY_ITEM_STATUSES = (429, 503)


def batch_payload(items: list[tuple[str, dict]]) -> dict:
    """The $batch body for (id, request) pairs; bodies get a JSON Content-Type as Graph requires."""
    requests_ = []
    for item_id, req in items:
        entry = {"id": item_id, "method": req["method"].upper(), "url": _relative(req["url"])}
        headers = dict(req.get("headers") or {})
        if req.get("body") is not None:
            entry["body"] = req["body"]
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        if headers:
            entry["headers"] = headers
        requests_.append(entry)
    return {"requests": requests_}


def parse_batch_response(body: dict) -> dict[str, BatchResult]:
    """Graph answers items in any order: map them by id."""
    results = {}
    for item in (body or {}).get("responses", []):
        results[str(item.get("id"))] = BatchResult(int(item.get("status", 0)), item.get("body"),
                                                   dict(item.get("headers") or {}))
    return results


def chunks(seq: list, size: int) -> list[list]:
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def _relative(url: str) -> str:
    """Batch item URLs are relative to the version root: `/users/...`."""
    return url if url.startswith("/") else f"/{url}"


class GraphClient:
    def __init__(self, http, base_url: str, scope: str, concurrency: int | None = None):
        self.http = http
        self.concurrency = concurrency or graph_degree()
        self.base_url = base_url.rstrip("/")
        self.scope = scope

    def _url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self.base_url}{_relative(path)}"

    def request(self, method: str, path: str, *, params=None, json=None, headers=None, idempotent=None):
        return self.http.request(method, self._url(path), service=SERVICE, scope=self.scope, params=params,
                                 json=json, headers=headers, idempotent=idempotent)

    @staticmethod
    def _body(response):
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> dict:
        return self._body(self.request("GET", path, params=params, headers=headers))

    def list(self, path: str, params: dict | None = None, headers: dict | None = None, *,
             cached: bool = False) -> list[dict]:
        """Every item across pages (follows @odata.nextLink); `$select`/`$filter`/`$top` pass through. With `cached`,
        a list this process already read and has not written since (mscloud/readcache.py)."""
        def read():
            return collect(lambda url, query: self.get(url, query, headers), self._url(path), params)

        if not cached:
            return read()
        return self.http.reads.get((SERVICE, self._url(path), tuple(sorted((params or {}).items()))), read)

    def post(self, path: str, json: dict | None = None, *, idempotent: bool | None = None, headers=None):
        return self._body(self.request("POST", path, json=json, idempotent=idempotent, headers=headers))

    def patch(self, path: str, json: dict, *, idempotent: bool | None = None, headers=None):
        return self._body(self.request("PATCH", path, json=json, idempotent=idempotent, headers=headers))

    def delete(self, path: str, *, idempotent: bool | None = None, headers=None):
        return self._body(self.request("DELETE", path, idempotent=idempotent, headers=headers))

    def _send_batch(self, chunk: list[int], requests: list[dict], idempotent: bool | None) -> dict[str, BatchResult]:
        """One $batch HTTP request for the items at `chunk`'s indexes (item id = index + 1)."""
        payload = batch_payload([(str(i + 1), requests[i]) for i in chunk])
        response = self.http.request("POST", f"{self.base_url}/$batch", service=SERVICE, scope=self.scope, json=payload,
                                     idempotent=idempotent)
        return parse_batch_response(response.json())

    def batch(self, requests: list[dict], *, raise_for_errors: bool = True,
              independent: bool = False, idempotent: bool | None = None) -> list[BatchResult]:
        """Run requests through $batch, 20 per HTTP request; results in input order. Graph runs the items of one
        $batch in any order; the $batch requests go one after another, or with `independent` (no request depends on
        another) up to `concurrency` at a time (mscloud/concurrency.py).

        Items answered 429/503 are sent again (in a new batch) after the largest Retry-After among them,
        within the core's retry budget. `dependsOn` is not supported (ids are assigned here).
        With raise_for_errors, the first failed item's typed error is raised after every item ran.
        idempotent=True (every item idempotent by nature, e.g. PATCHes to fixed values) lets the core re-send a
        $batch whose connection dropped; otherwise that drop raises TransportError for the caller to re-read.
        """
        results: list[BatchResult | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        budget = retry.RetryBudget(self.http.max_attempts, self.http.max_total_wait)
        while pending:
            budget.attempts += 1
            retry_items, waits = [], []
            batches = chunks(pending, GRAPH_BATCH_LIMIT)
            answers = run_all(lambda chunk: self._send_batch(chunk, requests, idempotent), batches,
                              self.concurrency if independent else 1)
            for chunk, answered in zip(batches, answers):
                for i in chunk:
                    result = answered.get(str(i + 1)) or BatchResult(500, {"error": {
                        "code": "MissingBatchResponse", "message": "no response for this request in the $batch answer"}})
                    results[i] = result
                    if result.status in _RETRY_ITEM_STATUSES:
                        retry_items.append(i)
                        waits.append(retry.parse_retry_after(_header(result.headers, "Retry-After")))
            if not retry_items:
                break
            known = [w for w in waits if w is not None]
            wait = budget.next_wait(max(known) if known else None, self.http.backoff_base, self.http.backoff_cap,
                                    self.http._rng)
            if wait is None:
                break
            self.http._sleep(wait)
            pending = retry_items
        if raise_for_errors:
            for i, result in enumerate(results):
                if not result.ok:
                    req = requests[i]
                    error = error_from_response(SERVICE, result.status, result.headers, result.body,
                                                req["method"].upper(), _relative(req["url"]).split("?")[0])
                    if result.status in _RETRY_ITEM_STATUSES and not isinstance(error, Throttled):
                        error = Throttled(SERVICE, result.status, error.code, error.message, error.request_id,
                                          error.method, error.route)
                    raise error
        return results


def _header(headers: dict, name: str):
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


