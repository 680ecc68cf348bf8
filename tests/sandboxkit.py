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


# --- Business Central environments that differ from the default (tests/sandbox/bc/test_environments.py) --------
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
ADMIN_APP = "0c1c9a1e-6d1b-4a43-9a35-4f1d1f2b7c10"
INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
INTEGRATION_SECRET = "sandbox-integration-secret-do-not-use-in-production"
COMPANY = "9a1b2c3d-0000-4000-8000-00000000c001"
VARIANT_FIELDS = ["id", "code", "displayName", "lastModifiedDateTime"]


def add_bc_environments(seed: dict) -> dict:
    """`seed` with the integration app Disabled on Production's Microsoft Entra Applications page, plus BC
    environments `Legacy` (BC 25.5, only the admin app registered), `Variant` (a salesperson page with
    VARIANT_FIELDS only) and `Closed` (no app registered)."""
    production = seed["businessCentral"]["environments"][0]
    production["entraApplications"] = [
        {"clientId": ADMIN_APP, "description": "bcsi pipeline", "state": "Enabled"},
        {"clientId": INTEGRATION_APP, "description": "Sales integration", "state": "Disabled"}]
    legacy = {**production, "name": "Legacy", "version": "25.5.30849.0",
              "entraApplications": [{"clientId": ADMIN_APP, "description": "bcsi pipeline"}]}
    variant = {**legacy, "name": "Variant", "version": "26.0.27417.0", "salespersonFields": VARIANT_FIELDS}
    closed = {**variant, "name": "Closed", "salespersonFields": None, "entraApplications": []}
    seed["businessCentral"]["environments"] += [legacy, variant, closed]
    return seed


def start_bc_environments_sandbox(base) -> RunningSandbox:
    """A private sandbox on the default seed with add_bc_environments(), data under `base` (a context manager, like start_sandbox)."""
    import yaml

    from sandbox.seed import DEFAULT_SEED

    (base / "seed.yaml").write_text(yaml.safe_dump(add_bc_environments(yaml.safe_load(DEFAULT_SEED.read_text()))))
    return start_sandbox(base / "data", seed=base / "seed.yaml")
