"""HttpCore: the one place that sends HTTP to Microsoft.

Like requests' own Session/adapter split, service clients only build URLs and bodies; this core adds
the token, `verify=` on every request, timeouts, retries (429/503/504/connection errors, honouring
Retry-After within a bounded total wait), a single token refresh on 401, typed errors, a request
counter and one debug line per request (never headers or bodies).
"""
from __future__ import annotations

import logging
import random
import threading
import time
from urllib.parse import urlsplit

import requests
import requests.adapters

from mscloud import retry
from mscloud.concurrency import POOL_SIZE
from mscloud.errors import ServiceError, Throttled, TransportError, Unauthorized, error_from_response
from mscloud.readcache import ReadCache

log = logging.getLogger("mscloud.http")


class HttpCore:
    def __init__(self, verify: str | bool = True, *, tokens=None, connect_timeout: float = 10.0,
                 read_timeout: float = 60.0, max_attempts: int = 12, max_total_wait: float = 120.0,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, sleep=time.sleep, rng=random.random):
        if verify is False:
            raise ValueError("TLS verification cannot be turned off")
        self.verify = verify
        self.tokens = tokens
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.max_total_wait = max_total_wait
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self._sleep, self._rng = sleep, rng
        self.session = requests.Session()
        # requests keeps 10 connections per host by default and drops the rest after use: room for the requests
        # mscloud/concurrency.py overlaps (and the engine's own parallel resources) to reuse theirs
        self.session.mount("https://", requests.adapters.HTTPAdapter(pool_connections=POOL_SIZE,
                                                                     pool_maxsize=POOL_SIZE))
        self._count_lock = threading.Lock()
        self.requests_sent = 0
        self.reads = ReadCache()   # reads kept until this process writes (mscloud/readcache.py)

    def count_sent(self) -> None:
        with self._count_lock:
            self.requests_sent += 1

    def request(self, method: str, url: str, *, service: str, scope: str | None = None, params=None,
                json=None, data=None, headers: dict | None = None, idempotent: bool | None = None,
                ok_statuses: tuple[int, ...] = ()) -> requests.Response:
        """Send with retries; return the 2xx (or ok_statuses) response, else raise the typed ServiceError."""
        method = method.upper()
        route = urlsplit(url).path
        if method != "GET":
            self.reads.clear()
        budget = retry.RetryBudget(self.max_attempts, self.max_total_wait)
        refreshed = False
        while True:
            budget.attempts += 1
            send_headers = dict(headers or {})
            if scope and self.tokens is not None:
                send_headers["Authorization"] = f"Bearer {self.tokens.token(scope)}"
            started = time.monotonic()
            try:
                self.count_sent()
                response = self.session.request(method, url, params=params, json=json, data=data,
                                                headers=send_headers, timeout=self.timeout, verify=self.verify)
            except requests.RequestException as exc:
                elapsed = (time.monotonic() - started) * 1000
                log.debug("%s %s failed (%s) %.0fms", method, route, type(exc).__name__, elapsed)
                never_sent = isinstance(exc, requests.ConnectTimeout)
                if never_sent or retry.is_idempotent(method, idempotent):
                    wait = budget.next_wait(None, self.backoff_base, self.backoff_cap, self._rng)
                    if wait is not None:
                        self._sleep(wait)
                        continue
                raise TransportError(service, None, type(exc).__name__, _transport_text(exc), None,
                                     method, route) from None
            elapsed = (time.monotonic() - started) * 1000
            status = response.status_code
            log.debug("%s %s %d %.0fms", method, route, status, elapsed)
            if status < 300 or status in ok_statuses:
                return response
            if status == 401 and scope and self.tokens is not None and not refreshed:
                refreshed = True  # expired (or revoked) token: fetch a new one, retry once
                self.tokens.invalidate(scope)
                continue
            retry_after = retry.parse_retry_after(response.headers.get("Retry-After"))
            if retry.should_retry_status(status, method, idempotent):
                wait = budget.next_wait(retry_after, self.backoff_base, self.backoff_cap, self._rng)
                if wait is not None:
                    self._sleep(wait)
                    continue
                error = error_from_response(service, status, response.headers, response.content, method, route,
                                            retry_after)
                if status in (429, 503) and not isinstance(error, Throttled):
                    error = Throttled(service, status, error.code, error.message, error.request_id, method, route,
                                      retry_after)
                error.message = f"{error.message} (gave up after {budget.attempts} tries, {budget.waited:.1f}s waited)"
                raise error
            raise error_from_response(service, status, response.headers, response.content, method, route,
                                      retry_after)

    def close(self) -> None:
        self.session.close()


def _transport_text(exc: Exception) -> str:
    """The connection problem in one line (requests' text may be long and nested)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


__all__ = ["HttpCore", "ServiceError", "Unauthorized"]
