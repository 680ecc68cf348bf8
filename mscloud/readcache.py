"""ReadCache: a read several resources make in one run, fetched once and kept until this process writes anything.

The engine runs a stack's resources in one provider process per command, so a list that more than one of them
reads (the tenant's subscribed SKUs: every licence's check and apply) is fetched once. Every write through the
HttpCore (any method but GET, `$batch` included) empties the cache, since it may change what was read. Only reads
asked for with `cached=True` use it; reads that wait for a change (mscloud/replication.py) never do.
"""
from __future__ import annotations

import copy
import threading


class ReadCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict = {}
        self._generation = 0   # bumped by every clear: a read that overlapped a write is not kept

    def get(self, key, read):
        """The kept value for `key`, else `read()` (kept unless a write happened meanwhile); callers get copies."""
        with self._lock:
            if key in self._entries:
                return copy.deepcopy(self._entries[key])
            generation = self._generation
        value = read()
        with self._lock:
            if generation == self._generation:
                self._entries[key] = copy.deepcopy(value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1
