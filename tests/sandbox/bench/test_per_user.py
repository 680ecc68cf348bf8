"""The per-user baseline of bench/ (issue #7) does the same work as the bcsi stack, one request per item.

Run against a private sandbox seeded with N users (zero latency): the request counts follow the per-user model
exactly, and afterwards every user holds the Sales licence and the roles the bench stack gives them.
"""
from __future__ import annotations

import json

import pytest

from bench.cloud import SALES_SKU, generated_upns, measure, start_seeded
from bench.per_user import PerUserTool, principals_of, role_sets
from bench.stack import ONE_CHANGE_ROLE
from mscloud.connection import clients_for, connection
from solution_import.roles import read_holders, resolve_role

pytestmark = pytest.mark.sandbox

N = 20
SIGN_IN = 3   # OIDC discovery, a Graph token, a Dataverse token


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    running = start_seeded(tmp_path_factory.mktemp("per-user"), N, latency_ms=0)
    try:
        yield running
    finally:
        running.stop()


def run(cloud, method):
    return measure(cloud, lambda: getattr(PerUserTool(cloud.data_dir), method)(N))[1]


def role_holders(cloud) -> dict[str, set[str]]:
    dataverse = clients_for(connection("sandbox", sandbox_dir=cloud.data_dir)).dataverse()
    return {role: {key for _, key in read_holders(dataverse, resolve_role(dataverse, role))}
            for role in role_sets(N)}


def test_per_user_requests_follow_the_per_user_model_and_do_the_same_work(cloud):
    roles = role_sets(N)
    associations = sum(len(members) for members in roles.values())
    principals = len(principals_of(roles))   # the N users and the integration app

    first = run(cloud, "first_up")
    assert first.requests_to("GET /v1.0/users/{id}") == N
    assert first.requests_to("/assignLicense") == N
    assert first.requests_to("/$ref") == associations
    assert first.requests_to("$batch") == 0

    graph = clients_for(connection("sandbox", sandbox_dir=cloud.data_dir)).graph
    sku = next(s for s in graph.list("/subscribedSkus") if s["skuPartNumber"] == SALES_SKU)
    assert sku["consumedUnits"] == N
    holders = role_holders(cloud)
    assert {role: holders[role] >= set(members) for role, members in roles.items()} == {r: True for r in roles}

    noop = run(cloud, "noop_preview")
    assert noop.requests == SIGN_IN + N + principals and noop.writes == 0
    assert run(cloud, "plan").requests == noop.requests

    change = run(cloud, "one_change")
    assert change.write_requests == 1 and change.writes == 1
    assert change.requests == noop.requests + 2   # the role id lookup and the one association
    assert generated_upns(N)[-1] in role_holders(cloud)[ONE_CHANGE_ROLE]


def test_results_json_and_table_have_the_issue_shape(tmp_path):
    from bench.report import Result, markdown_table, write_json

    results = [Result(10, "bcsi", "plan", 12, 1.234, 0, {"GET /v1.0/users": 1}),
               Result(10, "per-user", "plan", 24, 0.4)]
    write_json(results, tmp_path / "results.json")
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [{k: r[k] for k in ("n", "approach", "scenario", "requests", "seconds")} for r in rows] == [
        {"n": 10, "approach": "bcsi", "scenario": "plan", "requests": 12, "seconds": 1.23},
        {"n": 10, "approach": "per-user", "scenario": "plan", "requests": 24, "seconds": 0.4}]
    assert "| 10 | plan | 12 | 24 | 1.2 | 0.4 |" in markdown_table(results)
