"""Helpers shared by the Graph sandbox tests (no tests here): authenticated sessions and a private sandbox."""
from __future__ import annotations

import time
import uuid

import yaml

from tests.sandboxkit import ROOT, VerifiedSession

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
READER_APP = "4b7e2d19-8c3a-4f56-9e0d-1a2b3c4d5e6f"          # seeded with only User.Read.All
READER_SECRET = "sandbox-reader-secret-do-not-use-in-production"
SALES_SKU = "1e1a282c-9c54-43a2-9310-98ef728faace"
SALES_PLAN = "2da8e897-7791-486b-b08f-cc63c8129df3"
BC_SKU = "2880026b-2b0c-4251-8656-5d41ff11e3aa"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


class Graph(VerifiedSession):
    """A requests session on the sandbox's /v1.0 with a bearer token; relative paths are Graph paths."""

    def __init__(self, sandbox, token: str):
        super().__init__(sandbox.ca_file, sandbox.endpoints["graph"])
        self.headers["Authorization"] = f"Bearer {token}"


def graph(sandbox) -> Graph:
    return Graph(sandbox, sandbox.admin_token(GRAPH_SCOPE))


def token_for(sandbox, client_id: str, secret: str) -> dict:
    return sandbox.msal_app(client_id, secret).acquire_token_for_client([GRAPH_SCOPE])


def reader(sandbox) -> Graph:
    result = token_for(sandbox, READER_APP, READER_SECRET)
    return Graph(sandbox, result["access_token"])


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def new_user_body(nickname: str, **extra) -> dict:
    body = {"accountEnabled": True, "displayName": nickname.title(), "mailNickname": nickname,
            "userPrincipalName": f"{nickname}@contoso.com",
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "Sandbox-Pa55word!"}}
    body.update(extra)
    return body


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert set(body["innerError"]) >= {"date", "request-id", "client-request-id"}
    return body


def seed_file(tmp_path, **graph_overrides) -> str:
    """The default seed with its `graph:` section changed (for private sandboxes)."""
    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    seed["graph"].update(graph_overrides)
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    return str(path)


def eventually(probe, seconds: float = 15.0, pause: float = 0.25):
    """probe() until it returns something truthy (the sandbox's replication delays are seconds); the last value."""
    deadline = time.monotonic() + seconds
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(pause)
        value = probe()
    return value


def create_service_principal(g, app_id: str):
    """POST /servicePrincipals as a client must do right after POST /applications: again while the new app has not
    replicated (400 NoBackingApplicationObject, tests/sandbox/graph/test_consistency.py)."""
    def attempt():
        response = g.post("/servicePrincipals", json={"appId": app_id})
        details = response.json().get("error", {}).get("details", []) if response.status_code == 400 else []
        return None if any(d.get("code") == "NoBackingApplicationObject" for d in details) else response
    return eventually(attempt)
