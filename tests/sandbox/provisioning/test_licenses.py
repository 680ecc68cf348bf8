"""LicenseAssignmentProvider against the sandbox over real HTTPS: sets, budgets at N=1,000, failures.

The provider is called as the engine calls it (check/create/read/diff/update/delete); the sandbox's metrics
show the requests and writes that went over the wire. Nothing in mscloud, msal or requests is patched.
"""
from __future__ import annotations

import math

import pytest
import yaml

from mscloud.connection import clients_for, connection
from provisioning.licenses import LicenseAssignmentProvider, LicenseError
from tests.sandboxkit import ROOT, start_sandbox

pytestmark = pytest.mark.sandbox

N = 1000
SALES = "DYN365_ENTERPRISE_SALES"
BC = "DYN365_BUSCENTRAL_ESSENTIAL"
GENERATED = [f"user{i:04d}@contoso.com" for i in range(1, N + 1)]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """A private sandbox with N generated users and enough Sales units for them."""
    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    seed["graph"]["generatedUsers"] = N
    for sku in seed["graph"]["skus"]:
        if sku["skuPartNumber"] == SALES:
            sku["prepaidUnits"] = N + 50
    base = tmp_path_factory.mktemp("licenses")
    seed_file = base / "seed.yaml"
    seed_file.write_text(yaml.safe_dump(seed))
    running = start_sandbox(base / "data", seed=seed_file)
    try:
        yield Cloud(running)
    finally:
        running.stop()


class Cloud:
    def __init__(self, running):
        self.running = running
        self.conn = connection("sandbox", sandbox_dir=running.data_dir)
        self.provider = LicenseAssignmentProvider()
        clients_for(self.conn).graph.list("/subscribedSkus")   # token fetched outside the counted work

    def props(self, sku: str, users=(), groups=(), disabled=(), usage_location=None) -> dict:
        news = {"connection": self.conn, "skuPartNumber": sku, "users": list(users), "groups": list(groups),
                "disabledPlans": list(disabled), "usageLocation": usage_location}
        return self.provider.check({}, news).inputs

    def counted(self, action):
        """(result, graph API requests, writes) of one provider call."""
        self.running.reset_metrics()
        result = action()
        metrics = self.running.metrics()
        graph = sum(n for route, n in metrics["requests"].items() if " /v1.0/" in route)
        return result, graph, metrics["writes"]

    def user(self, upn: str) -> dict:
        return clients_for(self.conn).graph.get(f"/users/{upn}", params={
            "$select": "userPrincipalName,usageLocation,assignedLicenses"})


def test_create_for_1000_users_within_the_batch_budget_then_reads_cheaply(cloud):
    props = cloud.props(SALES, GENERATED)
    created, requests, writes = cloud.counted(lambda: cloud.provider.create(props))
    assert writes == N
    assert requests <= math.ceil(N / 20) + 4   # + subscribedSkus + holder pages
    assert created.outs["members"] == sorted(GENERATED)

    read, requests, writes = cloud.counted(lambda: cloud.provider.read(created.id, created.outs))
    assert requests <= 3 and writes == 0
    assert read.outs["members"] == sorted(GENERATED)
    assert cloud.provider.diff(created.id, read.outs, props).changes is False


def test_update_sends_only_the_difference_and_no_change_sends_nothing(cloud):
    start = cloud.props(SALES, GENERATED)
    olds = {**start, "skuId": None, "members": sorted(GENERATED)}
    news = cloud.props(SALES, GENERATED[1:] + ["admin@contoso.com"])
    assert cloud.provider.diff("x", olds, news).changes is True
    updated, _, writes = cloud.counted(lambda: cloud.provider.update("x", olds, news))
    assert writes == 2
    assert "admin@contoso.com" in updated.outs["members"] and GENERATED[0] not in updated.outs["members"]
    assert cloud.user(GENERATED[0])["assignedLicenses"] == []

    again, _, writes = cloud.counted(lambda: cloud.provider.update("x", updated.outs, news))
    assert writes == 0 and again.outs["members"] == updated.outs["members"]


def test_too_few_free_units_fails_before_any_write(cloud):
    props = cloud.props(BC, GENERATED[:30])
    with pytest.raises(LicenseError, match=r"30 user\(s\) need a licence but only 22 unit\(s\) are free.*nothing was assigned"):
        _, _, writes = cloud.counted(lambda: cloud.provider.create(props))
    assert cloud.running.metrics()["writes"] == 0


def test_missing_usage_location_is_named_and_fixed_only_when_configured(cloud):
    props = cloud.props(BC, ["dan@contoso.com", "admin@contoso.com"])
    with pytest.raises(LicenseError) as failed:
        cloud.provider.create(props)
    message = str(failed.value)
    assert "dan@contoso.com: License assignment cannot be done for user with invalid usage location." in message
    assert "1 other change(s) were applied" in message and "next run" in message
    assert "admin@contoso.com" not in message.split("refused")[1].split(".")[0]

    created = cloud.provider.create(cloud.props(BC, ["dan@contoso.com", "admin@contoso.com"], usage_location="DK"))
    assert {"dan@contoso.com", "admin@contoso.com"} <= set(created.outs["members"])
    assert cloud.user("dan@contoso.com")["usageLocation"] == "DK"
    assert cloud.user("admin@contoso.com")["usageLocation"] == "US"   # only users lacking one are changed


def test_groups_get_the_licence_and_inherited_holders_are_reported_not_managed(cloud):
    props = cloud.props(BC, ["carla@contoso.com"], groups=["Sales team"], disabled=[])
    created = cloud.provider.create(props)
    assert created.outs["groupMembers"] == ["ann@contoso.com", "bob@contoso.com"]
    assert created.outs["members"] == ["carla@contoso.com"]
    with pytest.raises(LicenseError, match="no group named Nobody"):
        cloud.provider.create(cloud.props(BC, [], groups=["Nobody"]))


def test_delete_removes_only_what_the_resource_managed(cloud):
    props = cloud.props(BC, [GENERATED[0]])
    created = cloud.provider.create(props)
    _, _, writes = cloud.counted(lambda: cloud.provider.delete(created.id, created.outs))
    assert writes == 1
    assert all(a["skuId"] != created.outs["skuId"] for a in cloud.user(GENERATED[0])["assignedLicenses"])
    assert any(a["skuId"] == created.outs["skuId"] for a in cloud.user("carla@contoso.com")["assignedLicenses"])


def test_unknown_sku_or_plan_is_one_clear_error(cloud):
    with pytest.raises(LicenseError, match="no subscription for SKU NOPE"):
        cloud.provider.create(cloud.props("NOPE", ["ann@contoso.com"]))
    with pytest.raises(LicenseError, match="disabledPlans X not in the SKU"):
        cloud.provider.create(cloud.props(SALES, ["ann@contoso.com"], disabled=["X"]))


def test_throttled_and_unavailable_items_are_retried_until_every_user_holds_the_licence(tmp_path):
    """Graph answers some $batch items 429/503 (with Retry-After): the client resends only those items."""
    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    seed["graph"]["generatedUsers"] = 40
    for sku in seed["graph"]["skus"]:
        sku["prepaidUnits"] = 100
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(yaml.safe_dump(seed))
    running = start_sandbox(tmp_path / "data", seed=seed_file, faults="429=0.2,503=0.05,seed=7")
    try:
        faulty = Cloud.__new__(Cloud)
        faulty.running, faulty.provider = running, LicenseAssignmentProvider()
        faulty.conn = connection("sandbox", sandbox_dir=running.data_dir)
        users = [f"user{i:04d}@contoso.com" for i in range(1, 41)]
        created = faulty.provider.create(faulty.props(SALES, users))
        assert created.outs["members"] == users
        assert faulty.provider.read(created.id, created.outs).outs["members"] == users
    finally:
        running.stop()


def test_a_swap_at_full_capacity_frees_units_before_taking_them(tmp_path):
    """Items of one Graph $batch without dependsOn run in any order ("Individual responses might appear in a
    different order", https://learn.microsoft.com/graph/json-batching; the sandbox shuffles them), so removals that
    free units go in a $batch before the additions that need them. Zero free units: five users out, five in."""
    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    seed["graph"]["generatedUsers"] = 10
    for sku in seed["graph"]["skus"]:
        if sku["skuPartNumber"] == SALES:
            sku["prepaidUnits"] = 5
    (tmp_path / "seed.yaml").write_text(yaml.safe_dump(seed))
    with start_sandbox(tmp_path / "full", seed=tmp_path / "seed.yaml") as running:
        cloud = Cloud(running)
        first, second = GENERATED[:5], GENERATED[5:10]
        created = cloud.provider.create(cloud.props(SALES, first))
        swapped = cloud.provider.update("x", created.outs, cloud.props(SALES, second))
        assert swapped.outs["members"] == second
        sku = next(s for s in clients_for(cloud.conn).graph.list("/subscribedSkus") if s["skuPartNumber"] == SALES)
        assert sku["consumedUnits"] == 5


def test_the_sku_list_is_read_once_for_every_check_and_apply_until_a_write(cloud):
    """The engine runs every licence's check and apply in one provider process: the tenant's SKU list is fetched
    once (mscloud/readcache.py) and fetched again after the provider's own writes may have changed it."""
    def sku_reads():
        return cloud.running.metrics()["requests"].get("GET /v1.0/subscribedSkus", 0)

    clients_for(cloud.conn).http.reads.clear()
    cloud.running.reset_metrics()
    props = cloud.props(BC, [GENERATED[-1]])
    cloud.props(SALES, GENERATED)
    assert sku_reads() == 1
    created = cloud.provider.create(props)
    assert created.outs["members"] == [GENERATED[-1]] and cloud.running.metrics()["writes"] == 1
    assert sku_reads() == 1
    assert cloud.props(BC, [GENERATED[-1]])["availableUnits"] >= 1 and sku_reads() == 2
    cloud.provider.delete(created.id, created.outs)
