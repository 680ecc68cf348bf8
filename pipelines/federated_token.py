"""Writes a fresh workload-identity token to $AZURE_FEDERATED_TOKEN_FILE before a step.

CI tokens live minutes; msal (bcsi), azuread and the azblob backend read the file whenever they need a new
Entra token, so each step refreshes it. Sources: GitHub Actions (`id-token: write`) and Azure Pipelines
(a workload-identity service connection, System.AccessToken mapped into the step). Without either, the file
is left as the platform wrote it (AKS workload identity, a test). The token is never printed.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request
from pathlib import Path

AUDIENCE = "api://AzureADTokenExchange"


def _fetch(request: urllib.request.Request, field: str) -> str:
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)[field]


def github_token(env: dict) -> str:
    url = env["ACTIONS_ID_TOKEN_REQUEST_URL"]
    url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"audience": AUDIENCE})
    request = urllib.request.Request(url, headers={"Authorization": f"bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"})
    return _fetch(request, "value")


def azure_pipelines_token(env: dict) -> str:
    connection = env.get("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID") or env["AZURE_SERVICE_CONNECTION_ID"]
    url = env["SYSTEM_OIDCREQUESTURI"] + "?" + urllib.parse.urlencode(
        {"api-version": "7.1", "serviceConnectionId": connection})
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "Authorization": f"Bearer {env['SYSTEM_ACCESSTOKEN']}", "Content-Type": "application/json"})
    return _fetch(request, "oidcToken")


def refresh(env: dict) -> str:
    """Which source was used ('github', 'azure-pipelines' or 'none')."""
    target = env.get("AZURE_FEDERATED_TOKEN_FILE")
    if not target:
        return "none"
    if env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        source, token = "github", github_token(env)
    elif env.get("SYSTEM_OIDCREQUESTURI") and env.get("SYSTEM_ACCESSTOKEN") and (
            env.get("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID") or env.get("AZURE_SERVICE_CONNECTION_ID")):
        source, token = "azure-pipelines", azure_pipelines_token(env)
    else:
        return "none"
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    return source


if __name__ == "__main__":
    try:
        refresh(dict(os.environ))
    except (OSError, KeyError, ValueError) as error:
        sys.exit(f"federated token: cannot refresh {os.environ.get('AZURE_FEDERATED_TOKEN_FILE')}: "
                 f"{type(error).__name__}")
