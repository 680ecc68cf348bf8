"""Sandbox helpers only tests use; starting and stopping the sandbox itself is harness/sandbox.py.

`start_sandbox(dir, ...)` returns a `RunningSandbox`; the session fixture in conftest.py shares one.
"""
from __future__ import annotations

# The machinery lives in harness/ (bench/ uses it too); tests keep importing it from here.
from harness.sandbox import (ROOT, RunningSandbox, SandboxStartError, VerifiedSession,  # noqa: F401
                             serve_command, start_sandbox)


def count(metrics: dict, method: str, suffix: str) -> int:
    """Requests in a /_sandbox/metrics snapshot whose route key is `METHOD …suffix`."""
    return sum(n for key, n in metrics["requests"].items() if key.startswith(method + " ") and key.endswith(suffix))


def fresh_clients(cloud, **options):
    """mscloud clients of the sandbox's seeded admin app, with their own token cache and request counter."""
    from mscloud import connect
    from mscloud.credentials import ClientCredential

    return connect(cloud, ClientCredential.from_sandbox(cloud), **options)


def follow_next_links(session, url: str, **request_options) -> list:
    """Every page of a collection as its `requests` response, following @odata.nextLink on the wire (no client)."""
    responses = []
    while url:
        response = session.get(url, **request_options)
        responses.append(response)
        url = response.json().get("@odata.nextLink")
    return responses


def seed_with_licensed_users(upns: list[str], sku_part_number: str, spare_units: int = 50) -> dict:
    """The default seed plus these users, each holding the SKU and synced to Dataverse without a role (seeded:
    assigning 1,000 licences through Graph takes minutes)."""
    import yaml

    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    seed["graph"]["users"] += [{"userPrincipalName": u, "displayName": u, "usageLocation": "US",
                                "licenses": [sku_part_number]} for u in upns]
    seed["dataverse"]["orgs"][0]["users"] += [{"domainname": u, "roles": []} for u in upns]
    for sku in seed["graph"]["skus"]:
        if sku["skuPartNumber"] == sku_part_number:
            sku["prepaidUnits"] = len(upns) + spare_units
    return seed
