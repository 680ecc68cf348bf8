"""mscloud/concurrency.py: bounded overlap, input-order results and errors, the configured degrees."""
import threading
import time

import pytest

from mscloud import concurrency
from mscloud.concurrency import dataverse_degree, graph_degree, parse_dop_hint, run_all


def test_results_come_back_in_input_order_whatever_finishes_first():
    def work(i):
        time.sleep(0.02 * (5 - i))   # the last item finishes first
        return i * 10

    assert run_all(work, range(5), degree=5) == [0, 10, 20, 30, 40]


def test_never_more_than_degree_at_a_time():
    active, peak, lock = [0], [0], threading.Lock()

    def work(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return i

    assert run_all(work, range(12), degree=3) == list(range(12))
    assert 2 <= peak[0] <= 3


def test_every_item_runs_and_the_first_failure_in_input_order_is_raised():
    ran = []

    def work(i):
        time.sleep(0.03 if i == 1 else 0.0)   # item 3 fails before item 1 does
        ran.append(i)
        if i in (1, 3):
            raise ValueError(f"item {i}")
        return i

    with pytest.raises(ValueError, match="item 1"):
        run_all(work, range(6), degree=4)
    assert sorted(ran) == list(range(6))


def test_degree_one_is_a_plain_loop_that_stops_at_the_first_failure():
    ran = []

    def work(i):
        ran.append((i, threading.current_thread() is threading.main_thread()))
        if i == 1:
            raise ValueError("stop")

    with pytest.raises(ValueError):
        run_all(work, range(4), degree=1)
    assert ran == [(0, True), (1, True)]


def test_dataverse_degree_follows_the_hint_within_the_cap(monkeypatch):
    monkeypatch.delenv(concurrency.DATAVERSE_ENV, raising=False)
    assert dataverse_degree(None) == concurrency.DATAVERSE_BEFORE_HINT
    assert dataverse_degree(2) == 2
    assert dataverse_degree(50) == concurrency.DATAVERSE_CAP_DEFAULT
    monkeypatch.setenv(concurrency.DATAVERSE_ENV, "1")
    assert dataverse_degree(50) == 1


def test_graph_degree_is_configurable_and_refuses_nonsense(monkeypatch):
    monkeypatch.delenv(concurrency.GRAPH_ENV, raising=False)
    assert graph_degree() == concurrency.GRAPH_DEFAULT
    monkeypatch.setenv(concurrency.GRAPH_ENV, "2")
    assert graph_degree() == 2
    for bad in ("0", "-1", "four"):
        monkeypatch.setenv(concurrency.GRAPH_ENV, bad)
        with pytest.raises(ValueError, match=concurrency.GRAPH_ENV):
            graph_degree()


@pytest.mark.parametrize("value, expected", [("4", 4), (" 50 ", 50), ("0", None), ("", None), (None, None),
                                             ("x", None)])
def test_parse_dop_hint(value, expected):
    assert parse_dop_hint(value) == expected


def test_dataverse_chunks_are_as_few_and_as_even_as_possible():
    from mscloud.dataverse import even_chunks

    assert [len(c) for c in even_chunks(list(range(1001)), 1000)] == [501, 500]
    assert [len(c) for c in even_chunks(list(range(2000)), 1000)] == [1000, 1000]
    assert [len(c) for c in even_chunks(list(range(3)), 1000)] == [3]
    assert even_chunks([], 1000) == []
    assert sum(even_chunks(list(range(2001)), 1000), []) == list(range(2001))

