"""Fills a fresh data dir from the seed YAML: each service's seed hook runs once, in a fixed order.

A data dir that was seeded before is left as it is (a restart keeps state); the seed's tenant and the
admin client the sandbox advertises in endpoints.json are remembered in the store (kind `_sandbox`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sandbox import consistency

DEFAULT_SEED = Path(__file__).with_name("seeds") / "default.yaml"
META = "_sandbox"  # store kind of the sandbox's own bookkeeping


@dataclass
class SeedContext:
    """What seed hooks may need besides the store and the YAML."""

    tenant_id: str
    base_url: str
    seed_file: Path


class SeedError(ValueError):
    """The seed YAML is unusable; the message names what is wrong."""


def load_seed(path: Path | None) -> dict:
    path = Path(path) if path else DEFAULT_SEED
    try:
        seed = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SeedError(f"{path}: cannot read seed ({exc.__class__.__name__})") from None
    if not isinstance(seed, dict) or not isinstance(seed.get("tenant"), dict) or not seed["tenant"].get("id"):
        raise SeedError(f"{path}: tenant: id is required")
    return seed


def is_seeded(store) -> bool:
    return store.get(META, "tenant") is not None


def apply_seed(store, services, seed: dict, seed_file: Path, base_url: str) -> None:
    """Run every service's seed hook once and record the tenant; no-op on an already seeded store."""
    if is_seeded(store):
        return
    tenant = seed["tenant"]
    try:
        settings = consistency.from_seed(tenant.get("consistency"))
    except consistency.ConsistencyError as exc:
        raise SeedError(f"{seed_file}: {exc}") from None
    ctx = SeedContext(tenant_id=str(tenant["id"]).lower(), base_url=base_url, seed_file=Path(seed_file))
    with store.transaction():
        for service in services:
            service.seed(store, seed, ctx)
        store.put(META, "tenant", {"id": ctx.tenant_id, "displayName": tenant.get("displayName", ""),
                                   "domains": list(tenant.get("domains") or [])})
        store.put(META, "advertised", advertised(seed))
        consistency.save(store, settings)


def advertised(seed: dict) -> dict:
    """What endpoints.json names: the admin app, the first Dataverse org, the first BC environment."""
    apps = (seed.get("identity") or {}).get("apps") or []
    admin = next((a for a in apps if a.get("admin")), None)
    orgs = (seed.get("dataverse") or {}).get("orgs") or []
    environments = (seed.get("businessCentral") or {}).get("environments") or []
    return {
        "client_id": admin.get("appId") if admin else None,
        "client_secret": admin.get("secret") if admin else None,
        "org": orgs[0]["name"] if orgs else None,
        "environment": environments[0]["name"] if environments else None,
    }


def tenant(store) -> dict:
    doc = store.get(META, "tenant")
    if doc is None:
        raise SeedError("the data dir has not been seeded")
    return doc
