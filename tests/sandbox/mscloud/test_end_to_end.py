"""mscloud end to end against the sandbox over real HTTPS: msal tokens, paging, batches, retries, errors.

Request counts are asserted twice: by the client (clients.http.requests_sent) and by the sandbox
(/_sandbox/metrics), which counts a $batch as one request and token requests under their own route.
"""
import concurrent.futures
import time

import pytest

from mscloud import connect
from mscloud.cloud import sandbox_cloud
from mscloud.credentials import AuthError, ClientCredential, CredentialError
from mscloud.errors import NotFound
from tests.sandboxkit import count, fresh_clients

pytestmark = pytest.mark.sandbox

TOKEN_ROUTE_SUFFIX = "/oauth2/v2.0/token"


def test_token_from_msal_and_counts_agree(cloud, admin):
    clients = fresh_clients(cloud)
    me = clients.graph.get("/users/ann@contoso.com", params={"$select": "id,userPrincipalName,usageLocation"})
    assert me["userPrincipalName"] == "ann@contoso.com" and me["usageLocation"] == "US"
    clients.graph.get("/users/bob@contoso.com")
    metrics = admin.metrics()
    assert count(metrics, "POST", TOKEN_ROUTE_SUFFIX) == 1          # one token, reused
    assert clients.http.requests_sent == metrics["total"] == 4, metrics   # openid-configuration, token, 2 GETs


def test_graph_paging_follows_next_link(cloud, admin):
    clients = fresh_clients(cloud)
    everyone = clients.graph.list("/users", params={"$select": "id,userPrincipalName"})
    paged = clients.graph.list("/users", params={"$select": "id,userPrincipalName", "$top": "2"})
    assert [u["userPrincipalName"] for u in paged] == [u["userPrincipalName"] for u in everyone]
    assert len(everyone) >= 6
    pages = -(-len(everyone) // 2)
    assert count(admin.metrics(), "GET", "/users") == 1 + pages


def test_graph_batch_of_45_is_three_http_requests_in_order(cloud, admin):
    clients = fresh_clients(cloud)
    upns = ["ann", "bob", "carla", "dan", "admin"]
    batch = [{"method": "GET", "url": f"/users/{upns[i % 5]}@contoso.com?$select=userPrincipalName"} for i in range(45)]
    results = clients.graph.batch(batch)
    assert [r.body["userPrincipalName"] for r in results] == [f"{upns[i % 5]}@contoso.com" for i in range(45)]
    metrics = admin.metrics()
    assert count(metrics, "POST", "/$batch") == 3
    assert clients.http.requests_sent == metrics["total"] == 5, metrics   # 3 batches, token, openid-configuration


def test_graph_error_is_typed_with_code_and_request_id(cloud, admin):
    clients = fresh_clients(cloud)
    token = clients.tokens.token(cloud.graph_scope)
    with pytest.raises(NotFound) as caught:
        clients.graph.get("/users/nobody@contoso.com")
    err = caught.value
    assert err.code == "Request_ResourceNotFound" and err.request_id and err.status == 404
    assert token not in str(err) and "Bearer" not in str(err)


def test_graph_batch_item_error_raises_after_the_batch(cloud, admin):
    clients = fresh_clients(cloud)
    batch = [{"method": "GET", "url": "/users/ann@contoso.com"}, {"method": "GET", "url": "/users/nobody@contoso.com"}]
    results = clients.graph.batch(batch, raise_for_errors=False)
    assert [r.status for r in results] == [200, 404]
    with pytest.raises(NotFound, match="Request_ResourceNotFound"):
        clients.graph.batch(batch)


def test_wrong_secret_is_a_clear_credential_error(cloud, admin):
    wrong = ClientCredential(cloud.tenant_id, cloud.sandbox_client[0], "secret", secret="not-the-secret")
    clients = connect(cloud, wrong)
    with pytest.raises(CredentialError) as caught:
        clients.graph.get("/users/ann@contoso.com")
    assert isinstance(caught.value, AuthError) and caught.value.aadsts == "AADSTS7000215"
    assert "not-the-secret" not in str(caught.value) and "\n" not in str(caught.value)


def test_faults_every_write_applied_exactly_once(start_sandbox, tmp_path):
    """200 user creates (POST, not idempotent) under 30 % throttling and 10 % 503: each lands exactly once."""
    with start_sandbox(tmp_path / "faulty", faults="429=0.3,503=0.1,seed=1") as faulty:
        cloud = sandbox_cloud(faulty.data_dir)
        admin = faulty
        clients = fresh_clients(cloud)
        before = len(clients.graph.list("/users", params={"$select": "id"}))
        admin.reset_metrics()
        sent_before = clients.http.requests_sent

        def create(i):
            return clients.graph.post("/users", {
                "accountEnabled": True, "displayName": f"Load {i}", "mailNickname": f"load{i:03d}",
                "userPrincipalName": f"load{i:03d}@contoso.com",
                "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": f"Pw-{i:03d}-xY9!long"}})

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            created = list(pool.map(create, range(200)))
        assert len({u["id"] for u in created}) == 200
        metrics = admin.metrics()
        assert metrics["writes"] == 200
        assert clients.http.requests_sent - sent_before == metrics["total"] > 200   # the retries were real
        after = clients.graph.list("/users", params={"$select": "id", "$top": "999"})
        assert len(after) == before + 200


def test_short_token_lifetime_refreshes_mid_run(cloud, admin):
    admin.settings(tokenLifetimeSeconds=2)
    try:
        clients = fresh_clients(cloud)
        deadline = time.monotonic() + 5
        calls = 0
        while time.monotonic() < deadline:
            clients.graph.get("/users/ann@contoso.com", params={"$select": "id"})
            calls += 1
            time.sleep(0.25)
        tokens = count(admin.metrics(), "POST", TOKEN_ROUTE_SUFFIX)
        assert 3 <= tokens < calls
    finally:
        admin.settings(tokenLifetimeSeconds=3600)


def test_dropped_connections_are_retried_for_reads_only(start_sandbox, tmp_path):
    """GETs survive dropped connections; a POST whose connection dropped is not blindly re-sent."""
    from mscloud.errors import TransportError

    with start_sandbox(tmp_path / "resets", faults="reset=0.25,seed=3") as flaky:
        cloud = sandbox_cloud(flaky.data_dir)
        clients = fresh_clients(cloud, backoff_base=0.01)
        for _ in range(40):
            assert clients.graph.get("/users/ann@contoso.com", params={"$select": "id"})["id"]
        assert clients.http.requests_sent > 40
        failures = 0
        for i in range(20):
            try:
                clients.graph.post("/users", {
                    "accountEnabled": True, "displayName": f"Reset {i}", "mailNickname": f"reset{i:02d}",
                    "userPrincipalName": f"reset{i:02d}@contoso.com",
                    "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": f"Pw-{i:03d}-xY9!long"}})
            except TransportError as err:
                failures += 1
                assert err.status is None and err.method == "POST" and "/users" in str(err)
        assert failures > 0


def test_connection_dict_gives_cached_clients(sandbox, admin):
    """mscloud.connection: the secret-free dict dynamic resources carry; one Clients per process and sandbox."""
    import pickle

    from mscloud.connection import clients_for, connection

    conn = connection("sandbox", sandbox_dir=sandbox.data_dir)
    assert sandbox.endpoints["client_secret"] not in pickle.dumps(conn).decode("latin-1")
    first, second = clients_for(conn), clients_for(dict(conn))
    assert first is second
    assert first.graph.get("/users/ann@contoso.com", params={"$select": "id"})["id"]
