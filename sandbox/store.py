"""The sandbox's only persistence: a thread-safe JSON document store, in memory and written through to SQLite.

Every service keeps its state here (kind = namespace, id = key), so a restart of `bcsi sandbox serve`
on the same data dir sees exactly what the last run left. Reads never touch SQLite.
Lookups by value are indexed: `find` builds a hash index per (kind, field) on first use and `count_by` a tally per
(kind, key function); every write keeps them current, so a lookup costs its matches, not a scan of the kind
(1,000 assignments must not cost 1,000 scans of 1,000 users).
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
)
"""


class Store:
    """Documents by (kind, id); copies in and out so callers can never alias stored state."""

    def __init__(self, path: str | Path | None = None):
        """`path` None keeps everything in memory only (unit tests)."""
        self._lock = threading.RLock()
        # kind -> id -> (doc, json body, version, seq); reads return json.loads(body): a fresh copy, 5x faster than deepcopy
        self._docs: dict[str, dict[str, tuple[dict, str, int, int]]] = {}
        self._version = 0
        self._seq = 0
        self._undo: list[tuple[str, str, tuple | None]] | None = None  # open transaction's undo log
        # kind -> {index key (a field name or a key function) -> {value -> ids}}, built on first use
        self._indexes: dict[str, dict[Any, dict[Hashable, set[str]]]] = {}
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._load()

    def _load(self) -> None:
        for kind, id_, seq, version, body in self._db.execute("SELECT kind, id, seq, version, body FROM docs ORDER BY seq"):
            self._docs.setdefault(kind, {})[id_] = (json.loads(body), body, version, seq)
            self._version = max(self._version, version)
            self._seq = max(self._seq, seq)

    # -- reads -----------------------------------------------------------------------------------
    def get(self, kind: str, id: str) -> dict | None:
        with self._lock:
            entry = self._docs.get(kind, {}).get(id)
            return json.loads(entry[1]) if entry else None

    def version(self, kind: str, id: str) -> int | None:
        with self._lock:
            entry = self._docs.get(kind, {}).get(id)
            return entry[2] if entry else None

    def list(self, kind: str) -> list[dict]:
        with self._lock:
            return [json.loads(body) for _, body, _, _ in self._docs.get(kind, {}).values()]

    def find(self, kind: str, **equals: Any) -> list[dict]:
        """Documents whose top-level fields equal these values, in insertion order (indexed on the first field)."""
        with self._lock:
            docs = self._docs.get(kind, {})
            field, value = next(iter(equals.items()), (None, None))
            if field is None or not isinstance(value, Hashable):
                candidates = docs.values()
            else:
                ids = self._index(kind, field).get(value, ())
                candidates = sorted((docs[id_] for id_ in ids), key=lambda entry: entry[3])
            return [json.loads(body) for doc, body, _, _ in candidates
                    if all(doc.get(k) == v for k, v in equals.items())]

    def count_by(self, kind: str, keys_of: Callable[[dict], Iterable[Hashable]]) -> dict[Hashable, int]:
        """How many documents of `kind` yield each key of `keys_of(doc)` (e.g. users per directly assigned SKU).
        Kept current by every write; `keys_of` must be one module-level function (it names the tally)."""
        with self._lock:
            return {key: len(ids) for key, ids in self._index(kind, keys_of).items() if ids}

    def ids_by(self, kind: str, keys_of: Callable[[dict], Iterable[Hashable]], key: Hashable) -> set[str]:
        """Ids of the documents of `kind` for which `keys_of(doc)` yields `key` (an index kept like count_by's)."""
        with self._lock:
            return set(self._index(kind, keys_of).get(key, ()))

    def _index(self, kind: str, key: Any) -> dict[Hashable, set[str]]:
        indexes = self._indexes.setdefault(kind, {})
        if key not in indexes:
            index: dict[Hashable, set[str]] = {}
            for id_, (doc, _, _, _) in self._docs.get(kind, {}).items():
                for value in _index_values(key, doc):
                    index.setdefault(value, set()).add(id_)
            indexes[key] = index
        return indexes[key]

    def _reindex(self, kind: str, id_: str, old: dict | None, new: dict | None) -> None:
        for key, index in self._indexes.get(kind, {}).items():
            for value in _index_values(key, old) if old is not None else ():
                index.get(value, set()).discard(id_)
            for value in _index_values(key, new) if new is not None else ():
                index.setdefault(value, set()).add(id_)

    def view(self, kind: str) -> list[dict]:
        """The stored documents themselves, no copies: for hot read-only scans. Never mutate what it returns."""
        with self._lock:
            return [doc for doc, _, _, _ in self._docs.get(kind, {}).values()]

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self._docs.get(kind, {}))

    def ids(self, kind: str) -> list[str]:
        with self._lock:
            return list(self._docs.get(kind, {}))

    def kinds(self) -> list[str]:
        with self._lock:
            return [k for k, docs in self._docs.items() if docs]

    # -- writes ----------------------------------------------------------------------------------
    def put(self, kind: str, id: str, doc: dict) -> int:
        """Insert or replace; a replaced document keeps its place in insertion order."""
        body = json.dumps(doc, separators=(",", ":"))
        with self._lock:
            docs = self._docs.setdefault(kind, {})
            previous = docs.get(id)
            self._version += 1
            if previous:
                seq = previous[3]
            else:
                self._seq += 1
                seq = self._seq
            self._remember(kind, id, previous)
            docs[id] = (json.loads(body), body, self._version, seq)
            self._reindex(kind, id, previous[0] if previous else None, docs[id][0])
            self._db.execute(
                "INSERT OR REPLACE INTO docs (kind, id, seq, version, body) VALUES (?, ?, ?, ?, ?)",
                (kind, id, seq, self._version, body),
            )
            return self._version

    def delete(self, kind: str, id: str) -> bool:
        with self._lock:
            docs = self._docs.get(kind, {})
            previous = docs.pop(id, None)
            if previous is None:
                return False
            self._remember(kind, id, previous)
            self._reindex(kind, id, previous[0], None)
            self._db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, id))
            return True

    def _remember(self, kind: str, id: str, previous: tuple | None) -> None:
        if self._undo is not None:
            self._undo.append((kind, id, previous))

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """All-or-nothing (Dataverse change sets). Other threads wait; nested blocks join the outer one."""
        with self._lock:
            if self._undo is not None:
                yield self
                return
            self._undo = []
            self._db.execute("BEGIN")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                for kind, id_, previous in reversed(self._undo):
                    self._indexes.pop(kind, None)   # rebuilt on next use
                    docs = self._docs.setdefault(kind, {})
                    if previous is None:
                        docs.pop(id_, None)
                    else:
                        docs[id_] = previous
                self._restore_order()
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._undo = None

    def _restore_order(self) -> None:
        for kind, docs in self._docs.items():
            self._docs[kind] = dict(sorted(docs.items(), key=lambda item: item[1][3]))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _index_values(key: Any, doc: dict) -> Iterable[Hashable]:
    """The values a document is filed under: a field's value (if hashable), or what a key function yields."""
    if callable(key):
        return key(doc)
    value = doc.get(key)
    return (value,) if isinstance(value, Hashable) else ()
