"""Waiting for Microsoft's replication: a bounded, reported retry for what a tenant will show soon, not now.

Entra ID and Dataverse are eventually consistent: "A successful write to Microsoft Entra does not guarantee that an
immediate read will reflect that change"
(https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/), and Dataverse
adds licensed users by a background sync that "can take a few minutes"
(https://learn.microsoft.com/power-platform/admin/create-users). Callers ask again with growing pauses, say once
what they wait for, and give up after a bound with one line naming the object and the likely cause.
"""
from __future__ import annotations

import os
import time
from typing import Callable, TypeVar

T = TypeVar("T")

BOUND_ENV = "BCSI_REPLICATION_WAIT_SECONDS"
DEFAULT_BOUND = 900.0      # Dataverse's user sync takes minutes; more than this points at a real cause
FIRST_PAUSE = 1.0
MAX_PAUSE = 15.0
SYNC_CAUSE = ("the user is not enabled or not licensed in Entra ID, or is outside the environment's security group "
              "(Dataverse syncs only those)")


class ReplicationTimeout(Exception):
    """What was awaited did not show within the bound; the message is one line for the user."""


def bound_seconds() -> float:
    """The wait bound: BCSI_REPLICATION_WAIT_SECONDS (a number of seconds) or the default."""
    value = os.environ.get(BOUND_ENV)
    try:
        return max(0.0, float(value)) if value else DEFAULT_BOUND
    except ValueError:
        raise ReplicationTimeout(f"{BOUND_ENV}={value!r}: a number of seconds expected") from None


def wait_for(attempt: Callable[[], T | None], *, waiting: str | Callable[[], str], cause: str,
             report: Callable[[str], None] = lambda message: None, bound: float | None = None,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> T:
    """`attempt()` until it returns something other than None; `waiting` (text, or a function giving it after the
    first attempt) is reported once before the first pause.

    On timeout: ReplicationTimeout("<waiting>: not done after N s; likely cause: <cause>").
    """
    result = attempt()
    if result is not None:
        return result
    limit = bound_seconds() if bound is None else bound
    waiting = waiting() if callable(waiting) else waiting
    start = clock()
    pause = FIRST_PAUSE
    report(f"waiting for {waiting} (Microsoft replicates changes with a delay; up to {limit:.0f} s)")
    while True:
        left = limit - (clock() - start)
        if left <= 0:
            raise ReplicationTimeout(f"{waiting}: not done after {limit:.0f} s; likely cause: {cause}")
        sleep(min(pause, left))
        pause = min(pause * 2, MAX_PAUSE)
        result = attempt()
        if result is not None:
            return result
