"""The sandbox server as users run it: readiness line, endpoints.json, TLS from its own CA, restart, SIGTERM."""
import json
import time
import ssl
import socket

import pytest
import requests
from werkzeug.test import Client

from sandbox.app import (EXPIRED, MISSING_TOKEN, WRONG_AUDIENCE, App, FaultSpec, Route, Service, ServiceError,
                         json_response, union_seconds)
from sandbox.identity.tokens import SigningKey
from sandbox.store import Store

pytestmark = pytest.mark.sandbox


def test_endpoints_json_matches_contract(sandbox):
    written = json.loads((sandbox.data_dir / "endpoints.json").read_text())
    assert written == sandbox.endpoints
    port = sandbox.port
    tid = written["tenant_id"]
    assert written["authority"] == f"https://127.0.0.1:{port}/{tid}"
    assert written["graph"] == f"https://127.0.0.1:{port}/v1.0"
    assert written["dataverse"] == f"https://127.0.0.1:{port}/orgs/contoso"
    assert written["business_central"] == f"https://127.0.0.1:{port}/bc/v2.0/{tid}/Production/api/v2.0"
    assert written["admin"] == f"https://127.0.0.1:{port}/_sandbox"
    assert written["ca_file"] == str(sandbox.data_dir.resolve() / "ca.pem")
    assert written["client_id"] and written["client_secret"]


def test_tls_is_verified_by_the_sandbox_ca_for_ip_and_localhost(sandbox):
    for host in ("127.0.0.1", "localhost"):
        context = ssl.create_default_context(cafile=sandbox.ca_file)
        with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                assert tls.version()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sandbox.url("/_sandbox/health"), verify=True, timeout=10)  # the system bundle does not know it


def test_admin_health_and_metrics_reset(sandbox):
    session = sandbox.session()
    assert session.get("/_sandbox/health").json()["tenant_id"] == sandbox.endpoints["tenant_id"]
    sandbox.reset_metrics()
    session.get(f"/{sandbox.endpoints['tenant_id']}/v2.0/.well-known/openid-configuration").raise_for_status()
    metrics = sandbox.metrics()
    assert metrics["total"] == 1
    assert metrics["requests"] == {"GET /{tenant}/v2.0/.well-known/openid-configuration": 1}
    assert metrics["writes"] == 0 and metrics["writes_by_route"] == {}


INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"  # seeded without a secret


def test_restart_keeps_state_ca_and_port(start_sandbox, tmp_path):
    running = start_sandbox(tmp_path / "data")
    ca_before = (running.data_dir / "ca.pem").read_bytes()
    added = running.session().post(f"/_sandbox/apps/{INTEGRATION_APP}/credentials",
                                   json={"passwordCredential": {"secret": "kept-across-restart"}})
    assert added.status_code == 201 and "secret" not in added.text
    port = running.port
    running.restart()
    assert running.port == port
    assert (running.data_dir / "ca.pem").read_bytes() == ca_before
    result = running.msal_app(INTEGRATION_APP, "kept-across-restart").acquire_token_for_client(
        ["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result.get("error_description")
    assert json.loads((running.data_dir / "endpoints.json").read_text()) == running.endpoints


def test_sigterm_ends_cleanly(start_sandbox, tmp_path):
    running = start_sandbox(tmp_path / "data")
    process = running.process
    running.stop()
    assert process.returncode == 0


def test_bad_faults_spec_is_one_line_error(tmp_path):
    import subprocess
    from tests.sandboxkit import serve_command

    result = subprocess.run(serve_command() + ["--port", "0", "--data", str(tmp_path), "--faults", "418=0.5"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--faults" in result.stderr


def test_bad_seed_is_one_line_error(tmp_path):
    import subprocess
    from tests.sandboxkit import serve_command

    seed = tmp_path / "seed.yaml"
    seed.write_text("tenant: {displayName: no id}\n")
    result = subprocess.run(serve_command() + ["--port", "0", "--data", str(tmp_path / "data"), "--seed", str(seed)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "tenant: id is required" in result.stderr and result.stdout == ""


GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _outcomes(running, n=20):
    """Status (or 'reset') of n sequential Graph GETs, each on a fresh connection."""
    token = running.admin_token(GRAPH_SCOPE)
    seen = []
    for _ in range(n):
        session = running.session()
        try:
            response = session.get(running.endpoints["graph"] + "/organization",
                                   headers={"Authorization": f"Bearer {token}"})
            seen.append(response.status_code)
            if response.status_code == 429:
                assert float(response.headers["Retry-After"]) <= 1
                assert response.json()["error"]["code"] == "TooManyRequests"
        except requests.ConnectionError:
            seen.append("reset")
        finally:
            session.close()
    return seen


def test_faults_are_deterministic_for_a_seed_and_latency_is_applied(start_sandbox, tmp_path):
    spec = "429=0.2,503=0.1,reset=0.1,seed=7"
    slow = start_sandbox(tmp_path / "a", faults=spec, latency_ms=100)
    fast = start_sandbox(tmp_path / "b", faults=spec)
    first, second = _outcomes(slow), _outcomes(fast)
    assert first == second
    assert {200, 429, 503, "reset"} <= set(first)
    other = start_sandbox(tmp_path / "c", faults="429=0.2,503=0.1,reset=0.1,seed=8")
    assert _outcomes(other) != first
    # latency: every API response waits; the admin API does not
    session = slow.session()
    started = time.monotonic()
    session.get(f"/{slow.endpoints['tenant_id']}/v2.0/.well-known/openid-configuration").raise_for_status()
    assert time.monotonic() - started >= 0.1
    started = time.monotonic()
    session.get("/_sandbox/health").raise_for_status()
    assert time.monotonic() - started < 0.1


NEW_USER = {"accountEnabled": True, "displayName": "Maybe", "mailNickname": "maybe",
            "userPrincipalName": "maybe@contoso.com",
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "Maybe-1-applied!"}}


def _post_user_dropped(running) -> dict:
    """POST /users on a connection the sandbox drops; returns the metrics after it."""
    token = running.admin_token(GRAPH_SCOPE)
    running.reset_metrics()
    session = running.session()
    with pytest.raises(requests.ConnectionError):
        session.post(running.endpoints["graph"] + "/users", json=NEW_USER, headers={"Authorization": f"Bearer {token}"})
    return running.metrics()


def test_reset_before_drops_the_connection_before_the_request_runs(start_sandbox, tmp_path):
    """A dropped connection may come before the service ran the request: nothing applied.

    Source: Azure Architecture Center, Retry pattern, "Idempotency" (https://learn.microsoft.com/azure/architecture/
    patterns/retry): transient faults include "the momentary loss of network connectivity"; the client sees only the
    dropped connection."""
    running = start_sandbox(tmp_path / "data", faults="reset-before=1,seed=1")
    metrics = _post_user_dropped(running)
    assert metrics["total"] == 1 and metrics["writes"] == 0
    assert metrics["faults"] == {"reset-before": 1}


def test_reset_after_runs_the_request_and_drops_the_answer(start_sandbox, tmp_path):
    """A dropped connection may come after the service ran the request: applied, and the client cannot tell.

    Source: Azure Architecture Center, Retry pattern, "Idempotency" (https://learn.microsoft.com/azure/architecture/
    patterns/retry): "a service might receive the request, process the request successfully, but fail to send a
    response. At that point, the retry logic might re-send the request, assuming that the first request wasn't
    received." The write is counted: the user was created before the connection dropped."""
    running = start_sandbox(tmp_path / "data", faults="reset-after=1,seed=1")
    metrics = _post_user_dropped(running)
    assert metrics["writes"] == 1 and metrics["faults"] == {"reset-after": 1}


# -- the app pipeline in-process (WSGI, no sockets): routing, token check, metrics, dispatch, faults --
TENANT = "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21"
KEY = SigningKey()


def token(aud="https://things.example", tid=TENANT, lifetime=60):
    now = int(time.time())
    return KEY.issue({"aud": aud, "tid": tid, "iat": now, "nbf": now, "exp": now + lifetime, "appid": "a"})


def build_app(faults=None, latency_ms=0):
    def get_thing(ctx, key):
        if key == "slow":
            time.sleep(0.1)   # processing time the metrics must see
        doc = ctx.store.get("things", key)
        if doc is None:
            raise ServiceError(404, "NotFound", f"no thing {key}", headers={"x-why": "missing"})
        return json_response(doc)

    def put_thing(ctx, key):
        ctx.store.put("things", key, ctx.request.get_json())
        ctx.count_write()
        return json_response(None, 204)

    def batch(ctx):
        parts = [ctx.dispatch(p["method"], p["url"], {"Content-Type": "application/json"},
                              None if p.get("body") is None else json.dumps(p["body"]))
                 for p in ctx.request.get_json()]
        return json_response([r.status_code for r in parts])

    def boom(ctx):
        raise RuntimeError("bug")

    service = Service(
        name="things",
        routes=[Route("GET", "/t/things/<key>", get_thing), Route("PUT", "/t/things/<key>", put_thing),
                Route("POST", "/t/$batch", batch), Route("GET", "/t/boom", boom)],
        audience=lambda ctx: "https://things.example",
        error=lambda ctx, status, code, message: json_response({"error": {"code": code, "message": message}}, status),
        unauthorized=lambda ctx, reason: json_response({"reason": reason}, 401),
        faults=True, prefix="/t/", not_found_code="NoSuchSegment")
    app = App(Store(), [service], TENANT, KEY.verify, faults=faults, latency_ms=latency_ms)
    return app, Client(app)


def auth(tok=None):
    return {"Authorization": f"Bearer {tok or token()}"}


def test_routes_metrics_and_writes():
    app, client = build_app()
    assert client.put("/t/things/a", json={"id": "a"}, headers=auth()).status_code == 204
    assert client.get("/t/things/a", headers=auth()).json == {"id": "a"}
    missing = client.get("/t/things/b", headers=auth())
    assert missing.status_code == 404 and missing.json["error"]["code"] == "NotFound"
    assert missing.headers["x-why"] == "missing" and missing.headers["request-id"]
    snapshot = app.metrics.snapshot()
    assert set(snapshot.pop("seconds")["processing_by_route"]) == {"PUT /t/things/{key}", "GET /t/things/{key}"}
    assert snapshot == {"total": 3, "requests": {"PUT /t/things/{key}": 1, "GET /t/things/{key}": 2},
                        "writes": 1, "writes_by_route": {"PUT /t/things/{key}": 1},
                        "schema_refusals": 0, "schema_refused": {}, "faults": {}}


def test_metrics_split_injected_latency_from_processing_time():
    """The sandbox's own bookkeeping (no Microsoft behaviour): each counted request's injected --latency-ms and
    the rest of its time in the app (processing) are summed, by route and as wall time, so a benchmark can
    subtract the sandbox's processing from its own wall time; batch parts are inside their request's time."""
    app, client = build_app(latency_ms=50)
    client.put("/t/things/slow", json={"id": "slow"}, headers=auth())
    app.metrics.reset()
    assert client.get("/t/things/slow", headers=auth()).status_code == 200
    client.post("/t/$batch", json=[{"method": "GET", "url": "/t/things/slow"}], headers=auth())
    seconds = app.metrics.snapshot()["seconds"]
    assert 0.1 <= seconds["latency"] < 0.2                       # two requests, 50 ms each
    assert 0.2 <= seconds["processing"] < 0.4                    # 100 ms in each handler, parts inside the batch
    assert set(seconds["processing_by_route"]) == {"GET /t/things/{key}", "POST /t/$batch"}
    assert seconds["busy_wall"] == pytest.approx(seconds["latency_wall"] + seconds["processing_wall"], abs=0.01)
    assert seconds["processing_wall"] == pytest.approx(seconds["processing"], abs=0.01)   # one after another
    app.metrics.reset()
    assert app.metrics.snapshot()["seconds"]["processing"] == 0


def test_wall_seconds_count_overlapping_requests_once():
    assert union_seconds([(0, 2), (1, 3), (5, 6), (5.5, 5.8)]) == 4
    assert union_seconds([]) == 0


def test_batch_parts_are_not_requests_but_writes_count():
    app, client = build_app()
    parts = [{"method": "PUT", "url": "/t/things/x", "body": {"id": "x"}}, {"method": "GET", "url": "/t/things/x"},
             {"method": "GET", "url": "/t/things/nope"}]
    assert client.post("/t/$batch", json=parts, headers=auth()).json == [204, 200, 404]
    snapshot = app.metrics.snapshot()
    assert snapshot["total"] == 1 and snapshot["requests"] == {"POST /t/$batch": 1}
    assert snapshot["writes_by_route"] == {"PUT /t/things/{key}": 1}


@pytest.mark.parametrize("make_headers, reason", [  # headers built at run time: tokens must not age in collection
    (lambda: {}, MISSING_TOKEN),
    (lambda: {"Authorization": "Basic abc"}, MISSING_TOKEN),
    (lambda: auth(token(aud="https://other.example")), WRONG_AUDIENCE),
    (lambda: auth(token(lifetime=-120)), EXPIRED),
])
def test_token_failures_use_the_services_unauthorized(make_headers, reason):
    _, client = build_app()
    response = client.get("/t/things/a", headers=make_headers())
    assert response.status_code == 401 and response.json == {"reason": reason}


def test_foreign_signature_and_tenant_rejected():
    _, client = build_app()
    other = SigningKey()
    now = int(time.time())
    forged = other.issue({"aud": "https://things.example", "tid": TENANT, "iat": now, "nbf": now, "exp": now + 60})
    assert client.get("/t/things/a", headers=auth(forged)).json == {"reason": "invalid_signature"}
    assert client.get("/t/things/a", headers=auth(token(tid="00000000-0000-0000-0000-000000000000"))).json == {
        "reason": "wrong_tenant"}


def test_unmatched_paths_and_handler_bugs():
    _, client = build_app()
    inside = client.get("/t/nothing/here", headers=auth())
    assert inside.status_code == 404 and inside.json["error"]["code"] == "NoSuchSegment"
    assert client.delete("/t/things/a", headers=auth()).status_code == 405
    assert client.get("/elsewhere").status_code == 404
    bug = client.get("/t/boom", headers=auth())
    assert bug.status_code == 500 and bug.json["error"]["code"] == "InternalServerError"


def test_faults_follow_the_seed_and_carry_retry_after():
    def run():
        _, client = build_app(FaultSpec.parse("429=0.3,503=0.2,seed=11"))
        return [client.get("/t/things/a", headers=auth()) for _ in range(40)]

    first, second = run(), run()
    assert [r.status_code for r in first] == [r.status_code for r in second]
    throttled = [r for r in first if r.status_code == 429]
    assert throttled and all(r.headers["Retry-After"] == "1" for r in throttled)
    assert throttled[0].json["error"]["code"] == "TooManyRequests"
    assert any(r.status_code == 503 for r in first) and any(r.status_code == 404 for r in first)


def test_reset_is_half_before_half_after_and_each_mode_follows_the_seed():
    """`reset=P` splits into reset-before=P/2 and reset-after=P/2; draws are deterministic for a seed (the two modes
    of a dropped connection: https://learn.microsoft.com/azure/architecture/patterns/retry, "Idempotency")."""
    spec = FaultSpec.parse("429=0.2,503=0.1,reset=0.1,seed=3")
    assert (spec.reset_before, spec.reset_after) == (0.05, 0.05)
    assert FaultSpec.parse("reset-before=0.3,reset-after=0.1").total == pytest.approx(0.4)
    assert [spec.pick(d) for d in (0.1, 0.25, 0.32, 0.37, 0.5)] == ["429", "503", "reset-before", "reset-after", None]


@pytest.mark.parametrize("spec", ["418=0.1", "429=2", "429=0.6,503=0.6", "seed=x", "429", "reset-later=0.1",
                                  "reset-before=0.6,reset-after=0.6"])
def test_bad_fault_specs(spec):
    with pytest.raises(ValueError):
        FaultSpec.parse(spec)
