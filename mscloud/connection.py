"""Clients for a stack's cloud, rebuilt inside each process from a plain, secret-free dict.

Dynamic providers are pickled into Pulumi state, so they may hold no client, token or secret. They carry
this small `connection` dict instead and call `clients_for` in every method; the clients (and their
msal token caches) are kept per process, so one engine run fetches each token once.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path

from mscloud import connect
from mscloud.cloud import cloud_named, sandbox_cloud
from mscloud.credentials import ClientCredential, CredentialError


def connection(cloud: str, tenant_id: str | None = None, sandbox_dir: str | Path | None = None) -> dict:
    """The dict resources carry: which cloud and tenant, and where a local sandbox keeps endpoints.json."""
    return {
        "cloud": cloud,
        "tenantId": tenant_id,
        "sandboxDir": str(Path(sandbox_dir).resolve()) if sandbox_dir else None,
    }


def clients_for(conn: dict):
    """The process-wide clients for `conn`; a restarted sandbox (new endpoints.json) gets new ones."""
    sandbox_dir = conn.get("sandboxDir")
    stamp = None
    if conn["cloud"] == "sandbox":
        endpoints = Path(sandbox_dir or ".sandbox") / "endpoints.json"
        stamp = endpoints.stat().st_mtime_ns if endpoints.exists() else None
    with _BUILD_LOCK:   # the engine calls providers from several threads: one set of clients (and tokens) per process
        return _clients(conn["cloud"], conn.get("tenantId"), sandbox_dir, stamp)


_BUILD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def _clients(cloud_name: str, tenant_id: str | None, sandbox_dir: str | None, _stamp):
    if cloud_name == "sandbox":
        cloud = sandbox_cloud(sandbox_dir or ".sandbox")
        credential = ClientCredential.from_sandbox(cloud)
    else:
        cloud = cloud_named(cloud_name)
        credential = ClientCredential.from_env()
        if tenant_id and credential.tenant_id.lower() != tenant_id.lower():
            raise CredentialError(
                f"AZURE_TENANT_ID is {credential.tenant_id} but the stack's bcsi:tenantId is {tenant_id}"
            )
    return connect(cloud, credential)
