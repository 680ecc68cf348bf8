"""Retry-After parsing, backoff bounds and the retry budget of mscloud.retry."""
from email.utils import formatdate

from hypothesis import given, strategies as st

from mscloud import retry


def test_retry_after_seconds_and_fractions():
    assert retry.parse_retry_after("7") == 7.0
    assert retry.parse_retry_after("0.25") == 0.25
    assert retry.parse_retry_after(" 3 ") == 3.0


def test_retry_after_http_date_is_relative_to_now():
    now = 1_700_000_000.0
    assert retry.parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert retry.parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_retry_after_garbage_or_missing_is_none():
    for value in (None, "", "soon", "nan"):
        assert retry.parse_retry_after(value) is None
    assert retry.parse_retry_after("-5") == 0.0


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_backoff_is_within_bounds(attempt, r):
    delay = retry.backoff_delay(attempt, base=0.5, cap=30.0, rng=lambda: r)
    assert 0 <= delay <= min(30.0, 0.5 * 2 ** (attempt - 1))


def test_backoff_grows_then_caps():
    top = [retry.backoff_delay(a, 0.5, 30.0, rng=lambda: 0.999999) for a in range(1, 10)]
    assert top == sorted(top) and top[-1] < 30.0 and top[0] < 0.5


def test_which_statuses_are_retried():
    assert retry.should_retry_status(429, "POST")
    assert retry.should_retry_status(503, "PATCH")
    assert retry.should_retry_status(504, "GET")
    assert not retry.should_retry_status(504, "POST")
    assert retry.should_retry_status(504, "POST", idempotent=True)
    assert not retry.should_retry_status(500, "GET")
    assert not retry.should_retry_status(404, "GET")


def test_budget_stops_at_attempts_and_total_wait():
    budget = retry.RetryBudget(max_attempts=3, max_total_wait=10)
    budget.attempts = 1
    assert budget.next_wait(4, 0.5, 30) == 4
    budget.attempts = 2
    assert budget.next_wait(7, 0.5, 30) is None     # would exceed 10 s in total
    assert budget.next_wait(6, 0.5, 30) == 6
    budget.attempts = 3
    assert budget.next_wait(0, 0.5, 30) is None     # out of tries
