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

MAX_FRUITLESS_REREADS = 5


def converge_after_drop(items: Sequence[T], send: Callable[[list[T]], R], missing: Callable[[list[T]], list[T]], *,
                        during: str, reread: str, report: Callable[[str], None],
                        limit: int = MAX_FRUITLESS_REREADS) -> R | None:
    """`send(items)`; when its connection drops, `missing(items)` re-reads which of them are not applied yet and only
    those are sent again. Returns the last `send`'s answer, or None when a re-read found every item applied.

    Bounded: a write sent in several requests (a long $batch) may apply part of itself before a drop, so a re-read
    that finds more applied is progress; after `limit` re-reads in a row that find nothing more, the drop is raised.
    So there are at most limit * (len(items) + 1) re-reads, and in practice a few."""
    pending, fruitless = list(items), 0
    while True:
        try:
            return send(pending)
        except TransportError:
            still = list(missing(pending))
            report(f"connection dropped during {during}; re-read {reread}: "
                   f"{len(pending) - len(still)} of {len(pending)} already applied")
            if not still:
                return None
            fruitless = fruitless + 1 if len(still) == len(pending) else 0
            if fruitless > limit:
                raise
            pending = still
