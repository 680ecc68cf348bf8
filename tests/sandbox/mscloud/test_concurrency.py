"""Independent $batch requests overlapped (mscloud/concurrency.py) against the sandbox: the same results, in the same
order, from the same number of requests as one after another; throttling still honoured."""
import pytest

from mscloud.cloud import sandbox_cloud
from tests.sandboxkit import count, fresh_clients

pytestmark = pytest.mark.sandbox

UPNS = ["ann", "bob", "carla", "dan", "admin"]


def graph_reads(n: int) -> list[dict]:
    return [{"method": "GET", "url": f"/users/{UPNS[i % 5]}@contoso.com?$select=userPrincipalName"} for i in range(n)]


def test_graph_independent_batches_match_one_after_another(cloud, admin):
    clients = fresh_clients(cloud)
    admin.reset_metrics()
    serial = clients.graph.batch(graph_reads(95))
    serial_requests = count(admin.metrics(), "POST", "/$batch")
    admin.reset_metrics()
    overlapped = clients.graph.batch(graph_reads(95), independent=True)
    assert [r.body for r in overlapped] == [r.body for r in serial]
    assert [r.body["userPrincipalName"] for r in overlapped] == [f"{UPNS[i % 5]}@contoso.com" for i in range(95)]
    assert count(admin.metrics(), "POST", "/$batch") == serial_requests == 5


def test_graph_independent_batches_under_throttling_all_answer(start_sandbox, tmp_path):
    """A 429 or 503 on one of the overlapped $batch requests is retried after its Retry-After, alone."""
    with start_sandbox(tmp_path / "throttled", faults="429=0.3,503=0.1,seed=5") as throttled:
        clients = fresh_clients(sandbox_cloud(throttled.data_dir), backoff_base=0.01)
        throttled.reset_metrics()
        results = clients.graph.batch(graph_reads(200), independent=True)
        assert [r.body["userPrincipalName"] for r in results] == [f"{UPNS[i % 5]}@contoso.com" for i in range(200)]
        assert count(throttled.metrics(), "POST", "/$batch") > 10   # ten batches, and the refused ones again


def test_dataverse_follows_the_dop_hint_and_keeps_part_order(cloud, admin):
    clients = fresh_clients(cloud)
    dv = clients.dataverse(cloud.dataverse_url)
    assert dv.degree() == 4          # nothing answered yet: the default before any hint
    users = dv.list("systemusers", select=["systemuserid", "domainname"], filter="domainname ne null", top=2)
    assert dv.dop_hint == 4 and dv.degree() == 4
    ops = [{"method": "GET", "url": f"systemusers({users[i % 2]['systemuserid']})?$select=domainname"}
           for i in range(2001)]
    admin.reset_metrics()
    results = dv.batch(ops, changeset=False, independent=True)
    assert [r.body["domainname"] for r in results] == [users[i % 2]["domainname"] for i in range(2001)]
    assert count(admin.metrics(), "POST", "/$batch") == 3
