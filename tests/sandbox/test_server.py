"""The sandbox server as users run it: readiness line, endpoints.json, TLS from its own CA, restart, SIGTERM."""
import json
import time
import ssl
import socket

import pytest
import requests

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


def test_reset_fault_does_not_apply_the_request(start_sandbox, tmp_path):
    running = start_sandbox(tmp_path / "data", faults="reset=1,seed=1")
    token = running.admin_token(GRAPH_SCOPE)
    running.reset_metrics()
    session = running.session()
    body = {"accountEnabled": True, "displayName": "Never", "mailNickname": "never",
            "userPrincipalName": "never@contoso.com",
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "Never-1-applied!"}}
    with pytest.raises(requests.ConnectionError):
        session.post(running.endpoints["graph"] + "/users", json=body, headers={"Authorization": f"Bearer {token}"})
    metrics = running.metrics()
    assert metrics["total"] == 1 and metrics["writes"] == 0
