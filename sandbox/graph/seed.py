"""Graph's seed hook: the tenant's organization, SKUs, users (with licenses), groups and `generatedUsers`."""
from __future__ import annotations

import uuid

from .models import USER_DEFAULT, Directory, now

SEED_NAMESPACE = uuid.UUID("3f1c2b8e-9a4d-4c6e-8b2a-7d5e1f0a9c31")  # ids of seeded objects are stable


def seed(store, seed_doc: dict, ctx) -> None:
    """Tenant domains, SKUs, users (with licences), groups and `generatedUsers` from the seed."""
    seed_directory(Directory(store, ctx.tenant_id), seed_doc.get("tenant") or {}, seed_doc.get("graph") or {})


def seed_directory(directory: Directory, tenant: dict, graph: dict) -> None:
    """Fill a fresh tenant from the seed's `tenant` and `graph` sections (one transaction: fast in bulk)."""
    domains = list(tenant.get("domains") or ["contoso.com"])
    with directory.store.transaction():
        directory.store.put("organization", directory.tenant_id, {
            "id": directory.tenant_id, "displayName": tenant.get("displayName", ""), "domains": domains,
            "countryLetterCode": tenant.get("countryLetterCode", "US"), "createdDateTime": now()})
        parts = {}
        for sku in graph.get("skus", []):
            sku_id = sku["skuId"].lower()
            parts[sku["skuPartNumber"]] = sku_id
            directory.store.put("subscribedSkus", sku_id, {
                "id": sku_id, "skuId": sku_id, "skuPartNumber": sku["skuPartNumber"],
                "enabled": int(sku.get("prepaidUnits", 0)),   # the other unit states as licenseUnitsDetail has them
                "warning": int(sku.get("warningUnits", 0)), "suspended": int(sku.get("suspendedUnits", 0)),
                "lockedOut": int(sku.get("lockedOutUnits", 0)),
                "servicePlans": [{"servicePlanId": p["servicePlanId"].lower(),
                                  "servicePlanName": p["servicePlanName"]} for p in sku.get("servicePlans", [])]})
        for user in graph.get("users", []):
            _seed_user(directory, user, parts)
        count = int(graph.get("generatedUsers") or 0)
        for n in range(1, count + 1):
            _seed_user(directory, {"userPrincipalName": f"user{n:04d}@{domains[0]}",
                             "displayName": f"Generated User {n:04d}", "usageLocation": "US"}, parts)
        for group in graph.get("groups", []):
            members = [seed_id(directory, "user", upn) for upn in group.get("members", [])]
            unknown = [upn for upn, id_ in zip(group.get("members", []), members) if directory.store.get("users", id_) is None]
            if unknown:
                raise ValueError(f"graph: groups: {group['displayName']}: unknown members {', '.join(unknown)}")
            doc = {"id": group.get("id") or seed_id(directory, "group", group["mailNickname"]),
                   "displayName": group["displayName"], "mailNickname": group["mailNickname"],
                   "description": group.get("description"), "mailEnabled": False, "securityEnabled": True,
                   "groupTypes": [], "mail": None, "visibility": None, "createdDateTime": now(),
                   "_members": members,
                   "_licenses": [{"disabledPlans": [], "skuId": _seed_sku(parts, p, group["displayName"])}
                                 for p in group.get("licenses", [])]}
            directory.store.put("groups", doc["id"], doc)


def seed_id(directory: Directory, kind: str, name: str) -> str:
    return str(uuid.uuid5(SEED_NAMESPACE, f"{directory.tenant_id}:{kind}:{name.lower()}"))


def _seed_user(directory: Directory, user: dict, parts: dict[str, str]) -> None:
    upn = user["userPrincipalName"]
    nickname = upn.split("@")[0]
    doc = {k: None for k in USER_DEFAULT}
    doc.update(businessPhones=[], accountEnabled=True, mailNickname=nickname, createdDateTime=now(), userType="Member",
               passwordProfile={"forceChangePasswordNextSignIn": False})
    doc.update({k: v for k, v in user.items() if k not in ("licenses", "id")})
    doc.update(id=user.get("id") or seed_id(directory, "user", upn), _upn=upn.lower(),
               _direct=[{"disabledPlans": [], "skuId": _seed_sku(parts, p, upn)} for p in user.get("licenses") or []])
    directory.store.put("users", doc["id"], doc)


def _seed_sku(parts: dict[str, str], part_number: str, owner: str) -> str:
    if part_number not in parts:
        raise ValueError(f"graph: {owner}: unknown licence {part_number} (seeded skus: {', '.join(parts) or 'none'})")
    return parts[part_number]
