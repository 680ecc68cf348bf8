"""Overlap independent requests, a few at a time, with results (and the error raised) in input order.

How many at a time is each service's documented limit, kept modest and configurable:
- Dataverse says to send what its `x-ms-dop-hint` response header recommends, and refuses more than 52 concurrent
  requests per user by default ("Send parallel requests",
  https://learn.microsoft.com/power-apps/developer/data-platform/send-parallel-requests; "Service protection API
  limits", https://learn.microsoft.com/power-apps/developer/data-platform/api-limits): the hint, at most
  BCSI_DATAVERSE_CONCURRENCY (default 8); before any hint, 4.
- Microsoft Graph's identity and access limits are rates, not a concurrency number (a token bucket per app and
  tenant: 3,000 writes per 2 minutes 30 seconds, 3,500-8,000 resource units per 10 seconds;
  https://learn.microsoft.com/graph/throttling-limits): BCSI_GRAPH_CONCURRENCY (default 4) `$batch` requests of 20
  at a time stays far below them, and a throttled item is still retried after its Retry-After.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

GRAPH_ENV = "BCSI_GRAPH_CONCURRENCY"
DATAVERSE_ENV = "BCSI_DATAVERSE_CONCURRENCY"
GRAPH_DEFAULT = 4
DATAVERSE_CAP_DEFAULT = 8
DATAVERSE_BEFORE_HINT = 4
DOP_HINT_HEADER = "x-ms-dop-hint"
POOL_SIZE = 16   # connections the shared session keeps per host: enough for every service's degree at once


def configured(env: str, default: int) -> int:
    """A positive whole number from the environment, else `default` (a bad value is not silently 0)."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{env} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def graph_degree() -> int:
    return configured(GRAPH_ENV, GRAPH_DEFAULT)


def dataverse_degree(dop_hint: int | None) -> int:
    """Dataverse's recommended degree (the latest x-ms-dop-hint), within the configured cap."""
    cap = configured(DATAVERSE_ENV, DATAVERSE_CAP_DEFAULT)
    return max(1, min(dop_hint or DATAVERSE_BEFORE_HINT, cap))


def parse_dop_hint(value: str | None) -> int | None:
    """The header's integer, or None when it is absent or not a positive integer."""
    value = (value or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def run_all(work, items: list, degree: int) -> list:
    """`work(item)` for every item, at most `degree` at a time; the results in input order.

    With degree 1 this is a plain loop, stopping at the first failure. Above 1 every item runs even when one fails
    (requests already sent cannot be recalled, so the outcome must not depend on timing); then the first failure
    in input order is raised, the same one however the threads interleaved.
    """
    items = list(items)
    if degree <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(degree, len(items)), thread_name_prefix="mscloud") as pool:
        outcomes = list(pool.map(lambda item: _outcome(work, item), items))
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]


def _outcome(work, item) -> tuple[bool, object]:
    try:
        return True, work(item)
    except Exception as error:  # noqa: BLE001 - kept and raised in input order by run_all
        return False, error
