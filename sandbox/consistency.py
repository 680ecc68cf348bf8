"""How the sandbox tenant is eventually consistent: replication delays and the order of a Graph $batch.

Microsoft's services take time to see a change ("A successful write to Microsoft Entra does not guarantee
that an immediate read will reflect that change", https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/),
so a product that counts on an immediate read works in a friendly emulator and fails in a real tenant. The
sandbox models each delay the product meets, in seconds, and runs the unordered items of a `$batch` in a
seeded shuffle. The seed's `tenant: consistency:` section sets them (on by default); `bcsi sandbox serve
--delays SPEC --batch-order ORDER` replaces them for a run. Kept in the store as `_sandbox/consistency`.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

META = "_sandbox"
DOC = "consistency"

DELAYS = {
    "dataverseUserSync": "an enabled, licensed Entra user becomes a Dataverse systemuser",
    "servicePrincipal": "a new application can take a service principal; a new service principal is seen by Dataverse",
    "usageLocation": "a usageLocation set by PATCH is seen by assignLicense",
    "groupLicensing": "a licence assigned to a group reaches its members",
}
OFF = "off"


class ConsistencyError(ValueError):
    """A --delays / --batch-order value or seed section the sandbox cannot use."""


@dataclass(frozen=True)
class Consistency:
    dataverseUserSync: float = 0.0
    servicePrincipal: float = 0.0
    usageLocation: float = 0.0
    groupLicensing: float = 0.0
    batchShuffleSeed: int | None = None   # None: a $batch runs in request order

    def delay(self, name: str) -> float:
        return float(getattr(self, name))

    def due(self, name: str, now: float | None = None) -> float:
        """The clock time at which a change made now becomes visible."""
        return (time.time() if now is None else now) + self.delay(name)


def from_seed(section) -> Consistency:
    """`tenant: consistency: {delays: {name: seconds}, batchShuffleSeed: N | null}`; missing keys are 0 / off."""
    section = section or {}
    if not isinstance(section, dict):
        raise ConsistencyError("tenant: consistency: must be a map")
    delays = section.get("delays") or {}
    unknown = sorted(set(delays) - set(DELAYS))
    if unknown:
        raise ConsistencyError(f"tenant: consistency: delays: unknown {', '.join(unknown)} (allowed: {', '.join(DELAYS)})")
    values = {name: _seconds(delays[name], f"tenant: consistency: delays: {name}") for name in delays}
    shuffle = section.get("batchShuffleSeed")
    if shuffle is not None and (isinstance(shuffle, bool) or not isinstance(shuffle, int)):
        raise ConsistencyError("tenant: consistency: batchShuffleSeed: an integer or null")
    return Consistency(**values, batchShuffleSeed=shuffle)


def with_delays(current: Consistency, spec: str) -> Consistency:
    """`--delays off` or `--delays dataverseUserSync=5,usageLocation=0`: the named delays replaced."""
    if spec.strip() == OFF:
        return replace(current, **{name: 0.0 for name in DELAYS})
    changes = {}
    for part in spec.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in DELAYS:
            raise ConsistencyError(f"bad delay '{part}' (allowed: off, or NAME=SECONDS with NAME one of {', '.join(DELAYS)})")
        changes[name] = _seconds(value, f"delay '{part}'")
    return replace(current, **changes)


def with_batch_order(current: Consistency, order: str) -> Consistency:
    """`--batch-order request` or `--batch-order shuffle:SEED`."""
    if order == "request":
        return replace(current, batchShuffleSeed=None)
    kind, _, seed = order.partition(":")
    if kind != "shuffle" or not seed.lstrip("-").isdigit():
        raise ConsistencyError(f"bad batch order '{order}' (allowed: request, shuffle:SEED)")
    return replace(current, batchShuffleSeed=int(seed))


def _seconds(value, where: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConsistencyError(f"{where}: seconds expected") from None
    if seconds < 0:
        raise ConsistencyError(f"{where}: must not be negative")
    return seconds


def load(store) -> Consistency:
    """The tenant's current settings (all off for a data dir seeded before they existed)."""
    doc = store.get(META, DOC)
    return Consistency(**doc) if doc else Consistency()


def save(store, consistency: Consistency) -> None:
    store.put(META, DOC, asdict(consistency))


# -- Entra ID -> Dataverse user synchronisation: Graph queues the users a change may concern; each Dataverse
# org takes them when they are due (sandbox/dataverse/user_sync.py).

def sync_queue(org: str) -> str:
    """Store kind of one org's queue: {id: Entra user id, dueAt: clock time}."""
    return f"dv:{org}:_userSyncQueue"


def queue_user_sync(store, user_ids, due: float) -> None:
    """Ask every Dataverse org to look at these users once `due` has passed (a later change moves it later)."""
    orgs = (store.get("identity:config", "config") or {}).get("dataverseOrgs") or []
    for org in orgs:
        kind = sync_queue(org)
        for user_id in user_ids:
            queued = store.get(kind, user_id)
            store.put(kind, user_id, {"id": user_id, "dueAt": max(due, queued["dueAt"]) if queued else due})
