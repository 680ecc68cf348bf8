"""Issue #7 request budgets at N = 1,000, with the real program through the real engine on a zero-latency sandbox.

CI checks request counts, not time (bench/budget.py explains each budget and its constant). One stack goes
through the four scenarios in order: first up, no-change `preview --refresh`, `bcsi plan`, one user added to
one role.
"""
from __future__ import annotations

import json
import math

import pytest

from bench import budget
from bench.cloud import measure, start_seeded
from bench.stack import BenchStack

pytestmark = pytest.mark.engine

N = 1000


@pytest.fixture(scope="module")
def bench_stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("budget")
    cloud = start_seeded(work / "cloud", N, latency_ms=0)
    try:
        yield cloud, BenchStack(work, N, cloud.data_dir)
    finally:
        cloud.stop()


def test_first_up_no_change_plan_and_one_change_stay_within_budget(bench_stack):
    cloud, stack = bench_stack

    _, up = measure(cloud, stack.up)
    assert up.requests_to("POST /v1.0/$batch") <= math.ceil(N / budget.GRAPH_BATCH), up.by_route
    # Integration User holds the N users and the integration app: N+1 associations, one $batch more
    assert up.requests_to("/api/data/v9.2/$batch") <= math.ceil((N + 1) / budget.DATAVERSE_BATCH) + 2, up.by_route
    assert up.requests <= budget.first_up_budget(N), up.by_route
    # every licence and association written once; the rest is the solution import and the two users
    assert N + (N + 1) + (N - 1) <= up.writes <= N + (N + 1) + (N - 1) + 10, up.by_route

    _, preview = measure(cloud, stack.noop_preview)
    assert preview.requests <= budget.NO_CHANGE_TOTAL, preview.by_route
    assert preview.writes == 0

    plan, planned = measure(cloud, stack.plan)
    assert json.loads(plan.stdout)["changes"] == []
    assert planned.requests <= budget.NO_CHANGE_TOTAL, planned.by_route

    _, change = measure(cloud, stack.add_one_user_to_one_role)
    assert change.write_requests <= budget.ONE_CHANGE_WRITES, change.by_route
    assert change.writes == 1, change.by_route
