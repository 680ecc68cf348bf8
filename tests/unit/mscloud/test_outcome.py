"""converge_after_drop: after a dropped connection, re-read and send only what is missing; bounded; one line each."""
from __future__ import annotations

import pytest

from mscloud.errors import TransportError
from mscloud.outcome import converge_after_drop


def dropped() -> TransportError:
    return TransportError("graph", None, "ConnectionError", "Connection aborted.", None, "POST", "/v1.0/$batch")


class FakeService:
    """Applies a prefix of each send, then drops the connection `drops` times; `applied` is the live state."""

    def __init__(self, drops: int, applies_before_drop: int = 0):
        self.drops, self.per_drop = drops, applies_before_drop
        self.applied: set[str] = set()
        self.sent: list[list[str]] = []

    def send(self, items: list[str]) -> str:
        self.sent.append(list(items))
        if self.drops:
            self.drops -= 1
            self.applied |= set(items[:self.per_drop])
            raise dropped()
        self.applied |= set(items)
        return "ok"

    def missing(self, items: list[str]) -> list[str]:
        return [i for i in items if i not in self.applied]


def test_only_what_is_missing_is_sent_again_and_each_reread_is_reported():
    service, lines = FakeService(drops=2, applies_before_drop=1), []
    answer = converge_after_drop(["a", "b", "c"], service.send, service.missing, during="assigning X",
                                 reread="the holders of X", report=lines.append)
    assert answer == "ok" and service.applied == {"a", "b", "c"}
    assert service.sent == [["a", "b", "c"], ["b", "c"], ["c"]]
    assert lines == ["connection dropped during assigning X; re-read the holders of X: 1 of 3 already applied",
                     "connection dropped during assigning X; re-read the holders of X: 1 of 2 already applied"]


def test_a_write_that_ran_before_the_drop_is_not_sent_again():
    service = FakeService(drops=1, applies_before_drop=3)
    lines = []
    assert converge_after_drop(["a", "b", "c"], service.send, service.missing, during="d", reread="r",
                               report=lines.append) is None
    assert service.sent == [["a", "b", "c"]] and lines[-1].endswith("3 of 3 already applied")


def test_re_reads_that_find_nothing_more_applied_are_bounded():
    service = FakeService(drops=100)
    lines = []
    with pytest.raises(TransportError):
        converge_after_drop(["a"], service.send, service.missing, during="d", reread="r", report=lines.append, limit=3)
    assert len(service.sent) == 4 and len(lines) == 4


def test_other_errors_are_not_caught():
    def refuse(_items):
        raise ValueError("refused")

    with pytest.raises(ValueError):
        converge_after_drop(["a"], refuse, lambda items: items, during="d", reread="r", report=print)
