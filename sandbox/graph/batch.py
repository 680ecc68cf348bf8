"""Graph JSON batching: POST /v1.0/$batch runs up to 20 requests in-process through ctx.dispatch.

Each part goes through the same routing, token check and permission check as a standalone request
(it is not counted as an HTTP request; its writes are counted). `dependsOn` orders parts; a part whose
dependency failed is answered 424 without running. With --faults, single parts may be throttled (429
with their own Retry-After), as Graph does. A batch is either fully parallel (no dependsOn: run in an
order Graph chooses; here a seeded shuffle, sandbox/consistency.py) or sequential (every part after the
first depends on another); a mix is refused (https://learn.microsoft.com/graph/json-batching).
"""
from __future__ import annotations

import json
import random
import threading

from sandbox import consistency
from sandbox.app import json_response

from .errors import bad_request, error_body
from .query import read_json

MAX_REQUESTS = 20
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}
_rngs: dict[int, random.Random] = {}
_shuffles: dict[int, random.Random] = {}
_rng_lock = threading.Lock()


def _invalid(message: str):
    return bad_request(message, code="BadRequest")


def _validate(body) -> list[dict]:
    # The wordings below are unconfirmed; Graph rejects each case as a whole with 400 BadRequest.
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise _invalid("Invalid batch payload format.")
    parts = body["requests"]
    if not parts:
        raise _invalid("Invalid batch payload format: the batch has no requests.")
    if len(parts) > MAX_REQUESTS:
        raise _invalid(f"The number of batch requests ({len(parts)}) exceeds the maximum of {MAX_REQUESTS}.")
    ids: set[str] = set()
    for part in parts:
        if not isinstance(part, dict) or not part.get("id") or not part.get("url") or not part.get("method"):
            raise _invalid("Invalid batch payload format: each request needs id, method and url.")
        part_id = str(part["id"])
        if part_id in ids:
            raise _invalid(f"Batch request id '{part_id}' is duplicated.")
        ids.add(part_id)
        if str(part["method"]).upper() not in _METHODS:
            raise _invalid(f"Invalid method '{part['method']}' in batch request '{part_id}'.")
        headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
        if part.get("body") is not None and "content-type" not in headers:
            raise _invalid(f"Content-Type header is required for a request with a body (request '{part_id}').")
        depends = part.get("dependsOn") or []
        if not isinstance(depends, list) or any(str(d) not in ids - {part_id} for d in depends):
            raise _invalid(f"Request '{part_id}' depends on a request id that is not earlier in this batch.")
    if any(p.get("dependsOn") for p in parts) and not all(p.get("dependsOn") for p in parts[1:]):
        raise _invalid("Batch should be either fully sequential or fully parallel")   # wording: third-party only
    return parts


def execution_order(ctx, parts: list[dict]) -> list[dict]:
    """Parts without dependsOn in the seeded shuffle (one draw per batch, deterministic for sequential
    clients); a sequential batch as written."""
    seed = consistency.load(ctx.store).batchShuffleSeed
    if seed is None or any(p.get("dependsOn") for p in parts):
        return parts
    with _rng_lock:
        rng = _shuffles.setdefault(id(ctx.app), random.Random(seed))
        order = list(parts)
        rng.shuffle(order)
    return order


def _path(url: str) -> str:
    for prefix in ("https://graph.microsoft.com/v1.0", "/v1.0"):
        if url.startswith(prefix):
            url = url[len(prefix):]
    return "/v1.0/" + url.lstrip("/")


def _throttled(ctx) -> bool:
    faults = ctx.app.faults
    if not faults.active or not faults.throttle:
        return False
    with _rng_lock:
        rng = _rngs.setdefault(id(ctx.app), random.Random(faults.seed + 20))
        return rng.random() < faults.throttle


def _run(ctx, part: dict, failed: set[str]) -> dict:
    part_id = str(part["id"])
    if any(str(d) in failed for d in part.get("dependsOn") or []):
        return {"id": part_id, "status": 424, "headers": {"Content-Type": "application/json"},
                "body": error_body("FailedDependency", "Dependent request failed.", ctx.request_id, None)}
    if _throttled(ctx):
        return {"id": part_id, "status": 429, "headers": {"Content-Type": "application/json", "Retry-After": "1"},
                "body": error_body("TooManyRequests", "Too many requests.", ctx.request_id, None)}
    url = _path(str(part["url"]))
    if url.split("?")[0].rstrip("/") == "/v1.0/$batch":
        return {"id": part_id, "status": 400, "headers": {"Content-Type": "application/json"},
                "body": error_body("BadRequest", "Nested batch requests are not supported.", ctx.request_id, None)}
    headers = dict(part.get("headers") or {})
    body = part.get("body")
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    response = ctx.dispatch(str(part["method"]).upper(), url, headers, data)
    raw = response.get_data()
    out_headers = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "location", "retry-after")}
    try:
        payload = json.loads(raw) if raw and "json" in (response.content_type or "") else (raw.decode() or None)
    except ValueError:
        payload = raw.decode()
    return {"id": part_id, "status": response.status_code, "headers": out_headers, "body": payload}


def batch(ctx):
    """POST /v1.0/$batch: parts in execution order; responses listed as they complete."""
    parts = _validate(read_json(ctx))
    failed: set[str] = set()
    responses = []
    for part in execution_order(ctx, parts):
        result = _run(ctx, part, failed)
        if result["status"] >= 400:
            failed.add(result["id"])
        responses.append(result)
    return json_response({"responses": responses})
