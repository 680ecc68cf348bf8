"""Unknown outcome: a write whose connection dropped may or may not have run; re-read, then send only what is missing.

"A service might receive the request, process the request successfully, but fail to send a response"
(https://learn.microsoft.com/azure/architecture/patterns/retry, "Idempotency"). The HTTP core re-sends only what is
idempotent by nature; for every other write it raises TransportError. The provider that sent it knows what it was
converging: `converge_after_drop` asks it to re-read which items are still missing, reports one line, and sends only
those, a bounded number of times.
"""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from mscloud.errors import TransportError

T = TypeVar("T")
R = TypeVar("R")

MAX_RECONVERGENCES = 5


def converge_after_drop(items: Sequence[T], send: Callable[[list[T]], R], missing: Callable[[list[T]], list[T]], *,
                        during: str, reread: str, report: Callable[[str], None],
                        limit: int = MAX_RECONVERGENCES) -> R | None:
    """`send(items)`; when its connection drops, `missing(items)` re-reads which of them are not applied yet and only
    those are sent again, at most `limit` times. Returns the last `send`'s answer, or None when a re-read found every
    item applied (nothing left to send)."""
    pending = list(items)
    for round_ in range(limit + 1):
        try:
            return send(pending)
        except TransportError:
            if round_ == limit:
                raise
            still = list(missing(pending))
            report(f"connection dropped during {during}; re-read {reread}: "
                   f"{len(pending) - len(still)} of {len(pending)} already applied")
            if not still:
                return None
            pending = still
    return None   # not reached: the last round returns or raises
