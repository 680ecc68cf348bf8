"""Retry decisions as pure functions: which failures to retry, how long to wait, when to give up."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

RETRY_ALWAYS = frozenset({429, 503})     # the service refused before running the request
RETRY_IF_IDEMPOTENT = frozenset({504})   # the service may or may not have run it
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds (Graph sends fractions) or an HTTP date."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0, rng=random.random) -> float:
    """Exponential backoff with full jitter for try number `attempt` (1 = the first retry): 0..min(cap, base*2^(attempt-1))."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling * rng()


def is_idempotent(method: str, marked: bool | None) -> bool:
    return marked if marked is not None else method.upper() in SAFE_METHODS


def should_retry_status(status: int, method: str, idempotent: bool | None = None) -> bool:
    if status in RETRY_ALWAYS:
        return True
    return status in RETRY_IF_IDEMPOTENT and is_idempotent(method, idempotent)


@dataclass
class RetryBudget:
    """At most `max_attempts` tries and `max_total_wait` seconds of sleeping across them."""

    max_attempts: int = 8
    max_total_wait: float = 120.0
    attempts: int = 0
    waited: float = field(default=0.0)

    def next_wait(self, retry_after: float | None, base: float, cap: float, rng=random.random) -> float | None:
        """The wait before the next try, or None when the budget is spent."""
        if self.attempts >= self.max_attempts:
            return None
        wait = retry_after if retry_after is not None else backoff_delay(self.attempts, base, cap, rng)
        if self.waited + wait > self.max_total_wait:
            return None
        self.waited += wait
        return wait
