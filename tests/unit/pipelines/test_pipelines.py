"""The pipeline helpers: the generated pack config, the federated-token refresh, steps.sh argument checks."""
import json
import stat
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from policies.pack_config import main as pack_config_main, pack_config

ROOT = Path(__file__).resolve().parents[3]


def test_pack_config_adds_the_previous_role_holders():
    base = {"principals-in-verified-domains": {"verifiedDomains": ["contoso.com"]},
            "role-assignment-shrink": "mandatory"}
    outputs = {"roleAssignments": {"Integration User": ["ann@contoso.com"]}, "integrationPrincipal": "x"}
    assert pack_config(base, outputs) == {
        "principals-in-verified-domains": {"verifiedDomains": ["contoso.com"]},
        "role-assignment-shrink": {"enforcementLevel": "mandatory",
                                   "previousRoleAssignments": {"Integration User": ["ann@contoso.com"]}}}
    assert base["role-assignment-shrink"] == "mandatory", "the base is not changed"
    assert pack_config({}, {}) == {}, "a stack never deployed has no baseline"


def test_pack_config_command(tmp_path, capsys):
    (tmp_path / "outputs.json").write_text(json.dumps({"roleAssignments": {"Integration User": ["a@contoso.com"]}}))
    pack_config_main(["--outputs", str(tmp_path / "outputs.json")])
    assert json.loads(capsys.readouterr().out)["role-assignment-shrink"]["previousRoleAssignments"]
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(SystemExit, match="must be a JSON object"):
        pack_config_main(["--base", str(tmp_path / "bad.json")])


class _TokenIssuer(BaseHTTPRequestHandler):
    seen = []

    def _answer(self, body):
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._answer({"value": "github-oidc-token"})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer({"oidcToken": "ado-oidc-token"})

    def log_message(self, *args):
        pass


@pytest.fixture
def issuer():
    server = HTTPServer(("127.0.0.1", 0), _TokenIssuer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _TokenIssuer.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_federated_token_from_github_and_azure_pipelines(tmp_path, issuer):
    import importlib.util

    spec = importlib.util.spec_from_file_location("federated_token", ROOT / "pipelines" / "federated_token.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target = tmp_path / "token"

    assert module.refresh({"AZURE_FEDERATED_TOKEN_FILE": str(target)}) == "none"
    assert module.refresh({"AZURE_FEDERATED_TOKEN_FILE": str(target), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req",
                           "ACTIONS_ID_TOKEN_REQUEST_URL": f"{issuer}/token?api-version=2.0"}) == "github"
    assert target.read_text() == "github-oidc-token"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    method, path, auth = _TokenIssuer.seen[-1]
    assert method == "GET" and "audience=api%3A%2F%2FAzureADTokenExchange" in path and auth == "bearer req"

    assert module.refresh({"AZURE_FEDERATED_TOKEN_FILE": str(target), "SYSTEM_OIDCREQUESTURI": f"{issuer}/oidc",
                           "SYSTEM_ACCESSTOKEN": "sys", "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "conn"}) \
        == "azure-pipelines"
    assert target.read_text() == "ado-oidc-token"
    method, path, auth = _TokenIssuer.seen[-1]
    assert method == "POST" and "serviceConnectionId=conn" in path and auth == "Bearer sys"


@pytest.mark.parametrize("args", [[], ["deploy", "dev"], ["up"], ["up", ""]])
def test_steps_sh_rejects_bad_arguments(args):
    result = subprocess.run([str(ROOT / "pipelines" / "steps.sh"), *args], capture_output=True, text=True)
    assert result.returncode == 64
    assert result.stderr.strip() == "usage: pipelines/steps.sh <validate|plan|preview|up|check> STACK"


def _yaml(name):
    import yaml

    return yaml.safe_load((ROOT / "pipelines" / name).read_text())


def test_github_actions_deploys_dev_test_prod_in_order_through_environments():
    jobs = _yaml("github-actions.yml")["jobs"]
    assert [jobs[j].get("environment") for j in ("up-dev", "up-test", "up-prod")] == ["dev", "test", "prod"]
    assert jobs["up-test"]["needs"] == "up-dev" and jobs["up-prod"]["needs"] == "up-test"
    for stack in ("dev", "test", "prod"):
        runs = [s.get("run") for s in jobs[f"up-{stack}"]["steps"]]
        assert runs.index(f"pipelines/steps.sh up {stack}") < runs.index(f"pipelines/steps.sh check {stack}")
    pr_runs = [s.get("run") for s in jobs["pull-request"]["steps"]]
    assert [r.split()[1] for r in pr_runs if r and r.startswith("pipelines/steps.sh")] == ["validate", "plan", "preview"]
    assert jobs["pull-request"]["strategy"]["matrix"]["stack"] == ["dev", "test", "prod"]


def test_azure_pipelines_deploys_dev_test_prod_in_order_through_environments():
    document = _yaml("azure-pipelines.yml")
    targets = next(p for p in document["parameters"] if p["name"] == "environments")["default"]
    assert [(t["stack"], t["dependsOn"]) for t in targets] == [("dev", []), ("test", ["up_dev"]),
                                                               ("prod", ["up_test"])]
    text = (ROOT / "pipelines" / "azure-pipelines.yml").read_text()
    for step in ("validate", "plan", "preview"):
        assert f'pipelines/steps.sh {step} "$(STACK)"' in text
    assert 'pipelines/steps.sh up "${{ target.stack }}"' in text and "environment: bcsi-${{ target.stack }}" in text
