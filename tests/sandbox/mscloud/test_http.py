"""HttpCore over real HTTPS against a scripted local server: exact retry, refresh and error behaviour.

The sandbox's faults are random; this server answers a fixed script per path so that request counts
and waits can be asserted exactly. TLS uses the sandbox's own CA code; nothing in mscloud is patched.
"""
import json
import logging
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from mscloud.errors import NotFound, ServiceError, Throttled, Unauthorized
from mscloud.graph import GraphClient
from mscloud.http import HttpCore
from sandbox.ca import CertificateAuthority

pytestmark = pytest.mark.sandbox


class ScriptedServer:
    """Answers each path from its list of (status, headers, body); records what it was sent."""

    def __init__(self, data_dir):
        authority = CertificateAuthority(data_dir)
        cert, key = authority.server_files()
        self.ca_file = str(authority.ca_file)
        self.script: dict[str, list] = {}
        self.seen: list[tuple[str, str, str | None]] = []
        self.bodies: list[bytes] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, ssl_context=(str(cert), str(key)))
        self.url = f"https://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request):
        self.seen.append((request.method, request.path, request.headers.get("Authorization")))
        self.bodies.append(request.get_data())
        queue = self.script.get(request.path) or [(200, {}, {"ok": True})]
        status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
        return Response(json.dumps(body) if body is not None else b"", status=status, headers=headers,
                        content_type="application/json")

    def close(self):
        self._server.shutdown()


class CountingTokens:
    """Stands in for TokenProvider: a new token after every invalidate."""

    def __init__(self):
        self.generation = 1
        self.invalidated = 0

    def token(self, scope):
        return f"token-{self.generation}"

    def invalidate(self, scope):
        self.invalidated += 1
        self.generation += 1


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ScriptedServer(tmp_path_factory.mktemp("scripted"))
    yield srv
    srv.close()


@pytest.fixture
def core(server):
    waits = []
    http = HttpCore(server.ca_file, tokens=CountingTokens(), sleep=waits.append, rng=lambda: 0.5)
    http.waits = waits
    server.seen.clear()
    return http


THROTTLED = (429, {"Retry-After": "0.25"}, {"error": {"code": "TooManyRequests", "message": "slow down"}})
UNAVAILABLE = (503, {}, {"error": {"code": "ServiceUnavailable", "message": "busy"}})


def test_get_retries_429_then_503_honouring_retry_after(server, core):
    server.script["/a"] = [THROTTLED, UNAVAILABLE, (200, {}, {"value": 1})]
    assert core.request("GET", f"{server.url}/a", service="graph", scope="s").json() == {"value": 1}
    assert core.requests_sent == 3 and len(server.seen) == 3
    assert core.waits == [0.25, 0.5 * 0.5 * 2]  # Retry-After, then backoff (attempt 2: base*2 * jitter 0.5)


def test_post_is_retried_on_429_but_not_on_504_unless_idempotent(server, core):
    server.script["/p"] = [THROTTLED, (200, {}, {"id": "x"})]
    assert core.request("POST", f"{server.url}/p", service="graph", scope="s", json={}).json() == {"id": "x"}
    server.script["/q"] = [(504, {}, {"error": {"code": "GatewayTimeout", "message": "late"}}), (200, {}, {})]
    with pytest.raises(ServiceError) as caught:
        core.request("POST", f"{server.url}/q", service="graph", scope="s", json={})
    assert caught.value.status == 504
    server.script["/r"] = [(504, {}, None), (200, {}, {"done": True})]
    assert core.request("POST", f"{server.url}/r", service="graph", scope="s", json={}, idempotent=True).json() == {"done": True}


def test_retry_budget_gives_up_with_throttled(server, tmp_path):
    waits = []
    http = HttpCore(server.ca_file, tokens=CountingTokens(), sleep=waits.append, max_total_wait=1.0)
    server.script["/t"] = [(429, {"Retry-After": "0.6"}, {"error": {"code": "TooManyRequests", "message": "no"}})]
    with pytest.raises(Throttled, match="gave up after 2 tries") as caught:
        http.request("GET", f"{server.url}/t", service="graph", scope="s")
    assert waits == [0.6] and http.requests_sent == 2 and caught.value.retry_after == 0.6


def test_401_refreshes_the_token_once(server, core):
    expired = (401, {}, {"error": {"code": "InvalidAuthenticationToken", "message": "Lifetime validation failed, the token is expired."}})
    server.script["/u"] = [expired, (200, {}, {"me": 1})]
    assert core.request("GET", f"{server.url}/u", service="graph", scope="s").json() == {"me": 1}
    assert [auth for _, _, auth in server.seen] == ["Bearer token-1", "Bearer token-2"]
    server.script["/v"] = [expired]
    with pytest.raises(Unauthorized) as caught:
        core.request("GET", f"{server.url}/v", service="graph", scope="s")
    assert core.tokens.invalidated == 2 and "token-" not in str(caught.value)


def test_typed_error_carries_code_and_request_id(server, core):
    server.script["/users/x"] = [(404, {"request-id": "hdr-id"}, {"error": {
        "code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist.",
        "innerError": {"request-id": "rid-7"}}})]
    with pytest.raises(NotFound) as caught:
        core.request("GET", f"{server.url}/users/x", service="graph", scope="s")
    err = caught.value
    assert (err.code, err.request_id, err.route) == ("Request_ResourceNotFound", "rid-7", "/users/x")
    assert core.requests_sent == 1


def test_debug_log_has_method_path_status_but_no_token(server, core, caplog):
    caplog.set_level(logging.DEBUG, logger="mscloud.http")
    core.request("GET", f"{server.url}/log?secret=no", service="graph", scope="s")
    lines = [r.getMessage() for r in caplog.records if r.name == "mscloud.http"]
    assert len(lines) == 1 and lines[0].startswith("GET /log 200 ")
    assert "token" not in lines[0] and "secret" not in lines[0]


def test_tls_verification_cannot_be_disabled():
    with pytest.raises(ValueError):
        HttpCore(False)


def test_graph_batch_retries_only_throttled_items_after_largest_retry_after(server, core):
    first = {"responses": [
        {"id": "3", "status": 200, "body": {"n": 3}},
        {"id": "1", "status": 429, "headers": {"Retry-After": "0.2"}, "body": {"error": {"code": "TooManyRequests", "message": "x"}}},
        {"id": "2", "status": 429, "headers": {"Retry-After": "0.7"}, "body": {"error": {"code": "TooManyRequests", "message": "x"}}}]}
    second = {"responses": [{"id": "2", "status": 204}, {"id": "1", "status": 200, "body": {"n": 1}}]}
    server.script["/v1.0/$batch"] = [(200, {}, first), (200, {}, second)]
    server.bodies.clear()
    graph = GraphClient(core, f"{server.url}/v1.0", "s")
    results = graph.batch([{"method": "GET", "url": "/a"}, {"method": "PATCH", "url": "/b", "body": {}},
                           {"method": "GET", "url": "/c"}])
    assert [r.status for r in results] == [200, 204, 200] and results[0].body == {"n": 1}
    assert core.waits == [0.7] and core.requests_sent == 2
    resent = json.loads(server.bodies[1])["requests"]
    assert sorted(r["id"] for r in resent) == ["1", "2"]
    assert resent[1]["headers"] == {"Content-Type": "application/json"}
