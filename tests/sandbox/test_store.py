"""sandbox.store: copies in and out, versions, order, transactions, persistence across reopen."""
import threading

import pytest

from sandbox.store import Store


def test_put_get_copies_and_versions():
    store = Store()
    doc = {"id": "a", "tags": ["x"]}
    v1 = store.put("users", "a", doc)
    doc["tags"].append("mutated")
    got = store.get("users", "a")
    assert got == {"id": "a", "tags": ["x"]}
    got["tags"].append("again")
    assert store.get("users", "a")["tags"] == ["x"]
    v2 = store.put("users", "a", {"id": "a"})
    assert v2 > v1 and store.version("users", "a") == v2
    assert store.get("users", "missing") is None and store.version("users", "missing") is None


def test_list_keeps_insertion_order_on_replace_and_find_matches_fields():
    store = Store()
    for key in ("c", "a", "b"):
        store.put("k", key, {"id": key, "team": "red" if key != "b" else "blue"})
    store.put("k", "c", {"id": "c", "team": "blue"})
    assert [d["id"] for d in store.list("k")] == ["c", "a", "b"]
    assert [d["id"] for d in store.find("k", team="blue")] == ["c", "b"]
    assert store.delete("k", "a") is True and store.delete("k", "a") is False
    assert store.ids("k") == ["c", "b"]


def test_transaction_rolls_back_memory_and_disk(tmp_path):
    path = tmp_path / "state.db"
    store = Store(path)
    store.put("k", "keep", {"id": "keep", "n": 1})
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("k", "keep", {"id": "keep", "n": 2})
            store.put("k", "new", {"id": "new"})
            store.delete("k", "keep")
            raise RuntimeError("boom")
    assert store.list("k") == [{"id": "keep", "n": 1}]
    store.close()
    assert Store(path).list("k") == [{"id": "keep", "n": 1}]


def test_committed_state_survives_reopen_with_order_and_versions(tmp_path):
    path = tmp_path / "state.db"
    store = Store(path)
    with store.transaction():
        store.put("k", "b", {"id": "b"})
        store.put("k", "a", {"id": "a"})
    last = store.put("other", "x", {"id": "x"})
    store.close()
    reopened = Store(path)
    assert [d["id"] for d in reopened.list("k")] == ["b", "a"]
    assert reopened.put("other", "y", {"id": "y"}) > last


def test_concurrent_puts_are_all_kept():
    store = Store()

    def writer(n):
        for i in range(200):
            store.put("k", f"{n}-{i}", {"i": i})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list("k")) == 800


def test_view_and_count_do_not_copy():
    store = Store()
    store.put("k", "a", {"id": "a", "n": [1]})
    assert store.count("k") == 1 and store.count("none") == 0
    assert store.view("k") == [{"id": "a", "n": [1]}]
    assert store.view("k")[0] is store.view("k")[0]


def _colours(doc):
    return doc.get("colours", [])


def test_indexed_find_and_count_by_follow_every_write_and_rollback():
    """find and count_by answer from indexes kept by put, delete and a rolled-back transaction."""
    store = Store()
    store.put("k", "a", {"id": "a", "team": "red", "colours": ["x", "y"]})
    store.put("k", "b", {"id": "b", "team": "red", "colours": ["x"]})
    assert [d["id"] for d in store.find("k", team="red")] == ["a", "b"]   # builds the index
    assert store.count_by("k", _colours) == {"x": 2, "y": 1}
    store.put("k", "a", {"id": "a", "team": "blue", "colours": []})
    store.put("k", "c", {"id": "c", "team": "red", "colours": ["y"]})
    store.delete("k", "b")
    assert [d["id"] for d in store.find("k", team="red")] == ["c"]
    assert store.find("k", team="blue", id="a") and not store.find("k", team="blue", id="c")
    assert store.count_by("k", _colours) == {"y": 1}
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("k", "d", {"id": "d", "team": "red", "colours": ["x"]})
            store.delete("k", "c")
            raise RuntimeError("roll back")
    assert [d["id"] for d in store.find("k", team="red")] == ["c"]
    assert store.count_by("k", _colours) == {"y": 1}
    assert store.find("k", colours=[]) == [{"id": "a", "team": "blue", "colours": []}]   # unhashable: a scan
