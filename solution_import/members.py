"""Role members as sets: normalising principals, diffing desired against live.

A principal is `{"type": "user" | "application", "key": "<upn or app id>"}`; keys compare
case-insensitively (UPNs and GUIDs are both case-insensitive in Entra ID and Dataverse).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from mscloud.wellknown import APPLICATION, INTEGRATION, USER, principal_kind

PRINCIPAL_TYPES = (USER, APPLICATION)


class PrincipalError(ValueError):
    """A principal entry that is not a user UPN or an application id."""


def principal(type_: str, key: str) -> dict:
    if type_ not in PRINCIPAL_TYPES:
        raise PrincipalError(f"principal type must be one of {', '.join(PRINCIPAL_TYPES)}, not {type_!r}")
    if not key or not str(key).strip():
        raise PrincipalError(f"empty {type_} principal")
    return {"type": type_, "key": str(key).strip().lower()}


def as_key(p: dict) -> tuple[str, str]:
    return (p["type"], str(p["key"]).strip().lower())


def normalise(principals: Iterable[dict], integration: dict | None = None) -> list[dict]:
    """Sorted, de-duplicated principals; `integration` replaces the key `integration`."""
    keys: set[tuple[str, str]] = set()
    for p in principals or ():
        if str(p.get("key", "")).strip().lower() == INTEGRATION:
            if not integration:
                raise PrincipalError("the principal 'integration' is used but no integration principal is set")
            p = integration
        keys.add(as_key(principal(p.get("type", ""), p.get("key", ""))))
    return [{"type": t, "key": k} for t, k in sorted(keys)]


def classify(value: str) -> dict:
    """A `bcsi:roles` entry as a principal: a UPN is a user, an app id an application; the word `integration`
    stays a placeholder (type user) that the resource replaces by the integration principal."""
    kind = principal_kind(value)
    return principal(USER if kind == INTEGRATION else kind, str(value).strip())


@dataclass(frozen=True)
class MemberChanges:
    added: list[dict]
    removed: list[dict]

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed

    def summary(self, limit: int = 10) -> str:
        """'+a, +b, -c' for logs; beyond `limit` names, counts ('+3 more') keep the line short."""
        parts = [f"+{p['key']}" for p in self.added] + [f"-{p['key']}" for p in self.removed]
        if not parts:
            return "no change"
        shown = ", ".join(parts[:limit])
        rest = len(parts) - limit
        return f"{shown}, and {rest} more ({len(self.added)} added, {len(self.removed)} removed)" if rest > 0 else shown


def member_changes(current: Iterable[dict], desired: Iterable[dict]) -> MemberChanges:
    """What to add and remove to turn `current` into `desired` (order-free, case-insensitive)."""
    have = {as_key(p) for p in current or ()}
    want = {as_key(p) for p in desired or ()}
    added = [{"type": t, "key": k} for t, k in sorted(want - have)]
    removed = [{"type": t, "key": k} for t, k in sorted(have - want)]
    return MemberChanges(added, removed)

