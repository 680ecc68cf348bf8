"""mscloud.replication.wait_for: asks again with growing pauses, reports once, gives up after the bound."""
from __future__ import annotations

import pytest

from mscloud.replication import BOUND_ENV, ReplicationTimeout, bound_seconds, wait_for


class Clock:
    def __init__(self):
        self.now, self.pauses = 0.0, []

    def sleep(self, seconds):
        self.pauses.append(seconds)
        self.now += seconds


def test_found_at_once_costs_no_pause_and_no_report():
    clock, reports = Clock(), []
    assert wait_for(lambda: "row", waiting="x", cause="c", report=reports.append, sleep=clock.sleep,
                    clock=lambda: clock.now) == "row"
    assert clock.pauses == [] and reports == []


def test_waits_with_growing_pauses_and_reports_once():
    clock, reports, answers = Clock(), [], iter([None, None, None, "row"])
    assert wait_for(lambda: next(answers), waiting=lambda: "Dataverse to sync ann", cause="c", report=reports.append,
                    sleep=clock.sleep, clock=lambda: clock.now, bound=60) == "row"
    assert clock.pauses == [1.0, 2.0, 4.0]
    assert reports == ["waiting for Dataverse to sync ann (Microsoft replicates changes with a delay; up to 60 s)"]


def test_the_bound_ends_with_one_line_naming_the_object_and_the_cause():
    clock = Clock()
    with pytest.raises(ReplicationTimeout) as failed:
        wait_for(lambda: None, waiting="Dataverse to sync dan", cause="dan is not licensed", sleep=clock.sleep,
                 clock=lambda: clock.now, bound=20)
    assert str(failed.value) == "Dataverse to sync dan: not done after 20 s; likely cause: dan is not licensed"
    assert sum(clock.pauses) == 20 and max(clock.pauses) <= 15


def test_bound_from_the_environment(monkeypatch):
    monkeypatch.setenv(BOUND_ENV, "30")
    assert bound_seconds() == 30
    monkeypatch.setenv(BOUND_ENV, "soon")
    with pytest.raises(ReplicationTimeout, match=BOUND_ENV):
        bound_seconds()
