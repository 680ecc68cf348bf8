"""LicenseAssignment: one SKU's directly assigned holders as a set, kept in line over Microsoft Graph.

pulumi-azuread has no licence resource. This dynamic resource reads the SKU (`GET /subscribedSkus`) and the
live holders (one paged `$filter=assignedLicenses/any(...)` query), then sends only the difference through
`assignLicense` in Graph `$batch` (20 per request). Group-inherited holders are reported, never removed.
The provider holds no client: `clients_for(props["connection"])` rebuilds one per process.
"""
from __future__ import annotations

from urllib.parse import quote

import pulumi
import pulumi.dynamic as dynamic
from pulumi.runtime.rpc import UNKNOWN

from mscloud import Clients
from mscloud.connection import clients_for
from mscloud.odata import odata_string
from mscloud.outcome import converge_after_drop
from mscloud.replication import ReplicationTimeout, wait_for

USERS_PAGE_SIZE = 999
USAGE_LOCATION_HINT = "usage location"


class LicenseError(Exception):
    """A licence change the tenant cannot take as configured (unknown SKU, too few units, per-user failures)."""


# ---------------------------------------------------------------------------------------------------------
# Pure logic (unit-tested without a cloud)


def normalize_users(users) -> list[str]:
    """UPNs as the resource compares them: lower-case, sorted, each once."""
    return sorted({str(u).strip().lower() for u in users or ()})


def find_sku(skus: list[dict], part_number: str) -> dict:
    """The subscribed SKU with this part number; the error lists the ones the tenant has."""
    for sku in skus:
        if str(sku.get("skuPartNumber", "")).upper() == part_number.upper():
            return sku
    have = ", ".join(sorted(str(s.get("skuPartNumber")) for s in skus)) or "none"
    raise LicenseError(f"the tenant has no subscription for SKU {part_number} (it has: {have})")


def free_units(sku: dict) -> int:
    """Units that can still be assigned: enabled plus warning (a subscription in its grace period still counts)
    minus consumed, as Partner Center counts them ("Total units ... sum of active and warning units", "Available
    units ... Total units - Consumed units":
    https://learn.microsoft.com/dotnet/api/microsoft.store.partnercenter.models.licenses.subscribedsku)."""
    prepaid = sku.get("prepaidUnits") or {}
    return int(prepaid.get("enabled", 0)) + int(prepaid.get("warning", 0)) - int(sku.get("consumedUnits", 0))


def check_free_units(sku: dict, adding: int, removing: int = 0) -> None:
    """Fail before any write when the SKU cannot cover the users being added (removals free units first)."""
    available = free_units(sku) + removing
    if adding > available:
        prepaid = sku.get("prepaidUnits") or {}
        warning = int(prepaid.get("warning", 0))
        raise LicenseError(
            f"{sku.get('skuPartNumber')}: {adding} user(s) need a licence but only {available} unit(s) are free "
            f"({int(prepaid.get('enabled', 0))} enabled{f', {warning} in their grace period' if warning else ''}, "
            f"{sku.get('consumedUnits', 0)} consumed{f', {removing} being removed' if removing else ''}); "
            "nothing was assigned")


def available_units(sku: dict, desired, managed, live_direct=None) -> int:
    """The most users this assignment may hold: free units plus the units its own users hold now.

    With `live_direct` (the SKU's direct holders, read live) the held units are exact: direct holders among the
    desired and managed users. Without it the managed users (the last applied set, from state) stand for them.
    The value does not move when this resource assigns or removes (consumed and held change together), so it
    stays stable from one no-change preview to the next; `check_free_units` asks the same question at `up`.
    """
    ours = set(normalize_users(desired)) | set(normalize_users(managed))
    held = set(normalize_users(managed)) if live_direct is None else set(normalize_users(live_direct)) & ours
    return free_units(sku) + len(held)


def has_unknown(value) -> bool:
    """Whether a check input still holds a value the engine computes later (preview of a new dependency)."""
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_unknown(v) for v in value)
    return value == UNKNOWN


def disabled_plan_ids(sku: dict, plan_names) -> list[str]:
    """Service plan ids for the configured plan names; unknown names fail listing the SKU's plans."""
    by_name = {str(p.get("servicePlanName")): str(p.get("servicePlanId")) for p in sku.get("servicePlans") or ()}
    unknown = [name for name in plan_names or () if name not in by_name]
    if unknown:
        raise LicenseError(
            f"{sku.get('skuPartNumber')}: disabledPlans {', '.join(unknown)} not in the SKU "
            f"(its plans: {', '.join(sorted(by_name)) or 'none'})")
    return sorted(by_name[name] for name in plan_names or ())


def holders(users: list[dict], sku_id: str) -> tuple[list[str], list[str]]:
    """(direct, group-inherited) UPNs holding sku_id, from users with assignedLicenses + licenseAssignmentStates.

    A user with no assignment state for the SKU (states not returned) counts as direct: the only way a licence
    shows in assignedLicenses without a group is a direct assignment.
    """
    direct, inherited = set(), set()
    sku_id = sku_id.lower()
    for user in users:
        upn = str(user.get("userPrincipalName", "")).lower()
        if not any(str(a.get("skuId", "")).lower() == sku_id for a in user.get("assignedLicenses") or ()):
            continue
        states = [s for s in user.get("licenseAssignmentStates") or () if str(s.get("skuId", "")).lower() == sku_id]
        if not states or any(not s.get("assignedByGroup") for s in states):
            direct.add(upn)
        if any(s.get("assignedByGroup") for s in states):
            inherited.add(upn)
    return sorted(direct), sorted(inherited)


def user_changes(desired, live_direct, managed) -> tuple[list[str], list[str]]:
    """(to add, to remove): add what is desired and missing; remove only holders this resource managed."""
    desired, live, managed = set(normalize_users(desired)), set(normalize_users(live_direct)), set(normalize_users(managed))
    return sorted(desired - live), sorted((live & managed) - desired)


def assign_request(path: str, sku_id: str, disabled_ids: list[str], add: bool) -> dict:
    """One `assignLicense` $batch item adding (with disabled plans) or removing the SKU."""
    body = {"addLicenses": [{"skuId": sku_id, "disabledPlans": list(disabled_ids)}], "removeLicenses": []} if add \
        else {"addLicenses": [], "removeLicenses": [sku_id]}
    return {"method": "POST", "url": f"{path}/assignLicense", "body": body}


def user_path(upn: str) -> str:
    """Graph takes the UPN in the path."""
    return f"/users/{quote(upn, safe='@')}"


PERMISSION_HINT = ("the app the toolkit signs in as needs the Graph application permission "
                   "LicenseAssignment.ReadWrite.All, with admin consent")


def error_message(result) -> str:
    """Graph's message for one refused item; a 403 also says which permission is missing."""
    body = result.body if isinstance(result.body, dict) else {}
    err = body.get("error") if isinstance(body.get("error"), dict) else {}
    message = str(err.get("message") or f"HTTP {result.status}")
    if result.status == 403:
        message = f"403 {err.get('code') or 'Forbidden'}: {message.rstrip('.')}; {PERMISSION_HINT}"
    return message


def is_usage_location_failure(result) -> bool:
    return result.status == 400 and USAGE_LOCATION_HINT in error_message(result).lower()


def failure_report(sku: str, failures: dict[str, str], applied: int) -> str:
    """One error for every user Graph refused, grouped by Graph's message."""
    by_message: dict[str, list[str]] = {}
    for upn, message in sorted(failures.items()):
        by_message.setdefault(message, []).append(upn)
    parts = [f"{', '.join(upns)}: {message}" for message, upns in by_message.items()]
    partial = (f" {applied} other change(s) were applied; fix the users and run again (the next run finishes the rest)."
               if applied else " Nothing else was changed.")
    return f"{sku}: Graph refused the licence change for {len(failures)} user(s): " + "; ".join(parts) + "." + partial


def member_diff(olds: dict, news: dict) -> dynamic.DiffResult:
    """Replace on a new SKU; update when the member or group set, disabled plans or usage location differ."""
    if str(olds.get("skuPartNumber", "")).upper() != str(news.get("skuPartNumber", "")).upper():
        return dynamic.DiffResult(changes=True, replaces=["skuPartNumber"], delete_before_replace=True)
    live = olds.get("members") if olds.get("members") is not None else olds.get("users")
    changed = (
        set(normalize_users(live)) != set(normalize_users(news.get("users")))
        or sorted(olds.get("groups") or []) != sorted(news.get("groups") or [])
        or sorted(olds.get("disabledPlans") or []) != sorted(news.get("disabledPlans") or [])
        or (olds.get("usageLocation") or None) != (news.get("usageLocation") or None)
    )
    return dynamic.DiffResult(changes=changed, replaces=[], delete_before_replace=False)


def change_summary(olds: dict, news: dict) -> str:
    """`SKU: +added, -removed` for the preview (the engine shows the `users` input change itself as well)."""
    live = olds.get("members") if olds.get("members") is not None else olds.get("users")
    before, after = set(normalize_users(live)), set(normalize_users(news.get("users")))
    groups_before, groups_after = set(olds.get("groups") or []), set(news.get("groups") or [])
    parts = [f"+{u}" for u in sorted(after - before)] + [f"-{u}" for u in sorted(before - after)]
    parts += [f"+group {g}" for g in sorted(groups_after - groups_before)]
    parts += [f"-group {g}" for g in sorted(groups_before - groups_after)]
    return f"licence {news.get('skuPartNumber')}: {', '.join(parts) or 'settings changed (plans or usage location)'}"


# ---------------------------------------------------------------------------------------------------------
# Graph work


class LicenseReader:
    """One SKU's live state in the tenant: the reads the provider, `bcsi plan` and `bcsi check` share."""

    def __init__(self, clients: Clients, sku_part_number: str):
        self.graph = clients.graph
        self.part_number = sku_part_number

    @classmethod
    def for_props(cls, props: dict):
        """Built inside each provider call from the secret-free connection dict (providers hold no client)."""
        return cls(clients_for(props["connection"]), props["skuPartNumber"])

    def sku(self) -> dict:
        """The SKU as the tenant lists it; every licence's check and apply in one run share the read until a write."""
        return find_sku(self.graph.list("/subscribedSkus", cached=True), self.part_number)

    def holders(self, sku_id: str) -> tuple[list[str], list[str]]:
        return holders(self.holder_rows(sku_id), sku_id)

    def holder_rows(self, sku_id: str) -> list[dict]:
        """Every user holding the SKU, with assignedLicenses (disabled plans) and licenseAssignmentStates: one
        paged query."""
        return self.graph.list("/users", params={
            "$filter": f"assignedLicenses/any(x:x/skuId eq {sku_id})",
            "$select": "id,userPrincipalName,assignedLicenses,licenseAssignmentStates",
            "$top": str(USERS_PAGE_SIZE),
        })

    def licensed_groups(self, sku_id: str) -> list[dict]:
        """Every group the SKU is assigned to (group-based licensing), by display name: one paged query."""
        return self.graph.list("/groups", params={
            "$filter": f"assignedLicenses/any(x:x/skuId eq {sku_id})",
            "$select": "id,displayName,assignedLicenses",
            "$top": str(USERS_PAGE_SIZE),
        })

    def groups(self, names) -> dict[str, dict]:
        """The configured groups by display name (one query); a missing group fails naming it."""
        names = list(names or ())
        if not names:
            return {}
        literals = ",".join(odata_string(n) for n in names)
        found = self.graph.list("/groups", params={"$filter": f"displayName in ({literals})",
                                                   "$select": "id,displayName,assignedLicenses"})
        by_name = {str(g.get("displayName")): g for g in found}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise LicenseError(f"{self.part_number}: no group named {', '.join(missing)} in the tenant")
        return {n: by_name[n] for n in names}

    @staticmethod
    def group_holds(group: dict, sku_id: str) -> bool:
        """Whether a group (as `groups` returns it) has the SKU assigned."""
        return any(str(a.get("skuId", "")).lower() == sku_id.lower() for a in group.get("assignedLicenses") or ())


class LicenseWriter(LicenseReader):
    """The provider's writes for one SKU: only the difference, users in Graph `$batch`."""

    def assign_users(self, sku_id: str, disabled: list[str], add: list[str], remove: list[str],
                     usage_location: str | None) -> None:
        """Removals first, in their own $batch: Graph runs the items of one batch in any order, so an addition
        could otherwise take a unit a removal has not freed yet. Then additions; usage-location failures are fixed
        when configured, and retried until Entra ID applies the new location."""
        failures = self._batch_assign(sku_id, disabled, remove, adding=False)
        results = self._batch_assign(sku_id, disabled, add, adding=True)
        failures.update(results)
        lacking = sorted(u for u, r in results.items() if is_usage_location_failure(r))
        if lacking and usage_location:
            # Setting a property to a fixed value is idempotent by nature ("Update the properties of a user object",
            # https://learn.microsoft.com/graph/api/user-update): the core may re-send it after a dropped connection.
            fixed = self.graph.batch([{"method": "PATCH", "url": user_path(u), "body": {"usageLocation": usage_location}}
                                      for u in lacking], raise_for_errors=False, independent=True, idempotent=True)
            ready = [u for u, r in zip(lacking, fixed) if r.ok]
            failures.update({u: r for u, r in zip(lacking, fixed) if not r.ok})
            for u in ready:
                failures.pop(u, None)
            failures.update(self._assign_after_location(sku_id, disabled, ready))
        messages = {u: error_message(r) for u, r in failures.items()}
        if lacking and not usage_location:
            for u in lacking:
                messages[u] += " (give the user a usage location in Entra ID, or set the licence's usageLocation)"
        if failures:
            raise LicenseError(failure_report(self.part_number, messages, len(add) + len(remove) - len(failures)))

    def _batch_assign(self, sku_id: str, disabled: list[str], users: list[str], adding: bool) -> dict:
        """One assignLicense per user in $batch; returns the refused ones {upn: result}.

        Not re-sent blindly after a dropped connection: adding a SKU a user holds replaces its disabled plans and
        removing one the user lacks is refused, so the SKU's holders are re-read and only the rest is sent."""
        if not users:
            return {}

        def send(pending: list[str]) -> dict:
            results = self.graph.batch([assign_request(user_path(u), sku_id, disabled, adding) for u in pending],
                                       raise_for_errors=False, independent=True)   # one user per item
            return {u: r for u, r in zip(pending, results) if not r.ok}

        def missing(pending: list[str]) -> list[str]:
            direct = set(self.holders(sku_id)[0])
            return [u for u in pending if (u in direct) != adding]

        verb = "assigning" if adding else "removing"
        return converge_after_drop(users, send, missing, during=f"{verb} {self.part_number} ($batch)",
                                   reread=f"the holders of {self.part_number}", report=pulumi.log.info) or {}

    def _assign_after_location(self, sku_id: str, disabled: list[str], users: list[str]) -> dict:
        """Assign to users whose usage location was just set; Graph may not see it yet, so those refused for
        the location are asked again until it has replicated. Returns the users still refused."""
        pending, refused = list(users), {}

        def attempt():
            failed = self._batch_assign(sku_id, disabled, pending, adding=True)
            for upn in pending:
                refused.pop(upn, None)
            refused.update(failed)
            pending[:] = sorted(u for u, r in failed.items() if is_usage_location_failure(r))
            return True if not pending else None

        if pending:
            try:
                wait_for(attempt, report=pulumi.log.info,
                         waiting=f"Entra ID to apply the usage location of {', '.join(pending)} ({self.part_number})",
                         cause="the usage location was not saved, or Entra ID is slow to replicate; check the user")
            except ReplicationTimeout:
                pass   # the refusals stay in `refused` and are reported with the others
        return refused

    def assign_groups(self, sku_id: str, disabled: list[str], groups: dict[str, dict], add: list[str],
                      remove: list[str]) -> None:
        """assignLicense per group, removals first; after a dropped connection the groups are re-read."""
        for names, adding in ((remove, False), (add, True)):
            body = {"addLicenses": [{"skuId": sku_id, "disabledPlans": disabled}], "removeLicenses": []} if adding \
                else {"addLicenses": [], "removeLicenses": [sku_id]}

            def send(pending: list[str], body=body) -> None:
                for name in pending:
                    self.graph.post(f"/groups/{groups[name]['id']}/assignLicense", body)

            def missing(pending: list[str], adding=adding) -> list[str]:
                live = self.groups(pending)
                return [n for n in pending if self.group_holds(live[n], sku_id) != adding]

            if names:
                converge_after_drop(names, send, missing, during=f"licensing groups with {self.part_number}",
                                    reread=f"the groups' {self.part_number} licences", report=pulumi.log.info)

    def inherited_after(self, sku_id: str, groups: dict[str, dict], added: list[str]) -> list[str]:
        """The group-inherited holders once the newly licensed groups' members hold the SKU: group-based
        licensing runs in the background ("This process might take some time, varying with the size of the
        group", https://learn.microsoft.com/entra/identity/users/licensing-groups-assign)."""
        members = set()
        for name in added:
            found = self.graph.list(f"/groups/{groups[name]['id']}/members", params={"$select": "id,userPrincipalName"})
            members |= {str(m["userPrincipalName"]).lower() for m in found if m.get("userPrincipalName")}

        def attempt():
            _, inherited = self.holders(sku_id)
            return inherited if members <= set(inherited) else None

        try:
            return wait_for(attempt, report=pulumi.log.info,
                            waiting=f"Entra ID to license the members of {', '.join(added)} ({self.part_number})",
                            cause="too few free units for every member (Entra shows CountViolation on the user), "
                                  "or group licensing is still processing a large group")
        except ReplicationTimeout as timeout:
            raise LicenseError(str(timeout)) from None


class LicenseAssignmentProvider(dynamic.ResourceProvider):
    """Create/update send only the difference; read returns the live direct holders so refresh shows drift."""

    serialize_as_secret_always = False

    def check(self, olds, news):
        """Normalize the sets and add `availableUnits` (one `GET /subscribedSkus`), so the policy pack's
        license-units-not-exceeded rule judges the assignment at preview; an unknown SKU fails here."""
        news = dict(news)
        news["users"] = normalize_users(news.get("users"))
        news["groups"] = sorted(set(news.get("groups") or []))
        news["disabledPlans"] = sorted(set(news.get("disabledPlans") or []))
        news.pop("availableUnits", None)
        if has_unknown([news.get("connection"), news.get("skuPartNumber"), news["users"]]):
            return dynamic.CheckResult(news, [])
        try:
            news["availableUnits"] = self._available_units(olds or {}, news)
        except LicenseError as error:
            return dynamic.CheckResult(news, [dynamic.CheckFailure("skuPartNumber", str(error))])
        except Exception as error:  # preview stays usable when the cloud is unreachable; create/update report it
            pulumi.log.warn(f"licence {news.get('skuPartNumber')}: units not checked in preview: {error}")
        return dynamic.CheckResult(news, [])

    @staticmethod
    def _available_units(olds: dict, news: dict) -> int:
        """Free units plus what the last applied set holds; live holders are read only when that falls short
        (users who already hold the SKU, e.g. adopted on a first run), so a no-change preview costs one request."""
        same_sku = str(olds.get("skuPartNumber", "")).upper() == str(news["skuPartNumber"]).upper()
        managed = (olds.get("users") or []) if same_sku and not has_unknown(olds.get("users")) else []
        graph = LicenseReader.for_props(news)
        sku = graph.sku()
        available = available_units(sku, news["users"], managed)
        if len(news["users"]) > available:
            direct, _ = graph.holders(str(sku["skuId"]))
            available = available_units(sku, news["users"], managed, live_direct=direct)
        return available

    def diff(self, _id, olds, news):
        result = member_diff(olds, news)
        if result.changes and not result.replaces:
            pulumi.log.info(change_summary(olds, news))
        return result

    def create(self, props):
        outs = self._apply(props, managed=[], old_groups=[])
        return dynamic.CreateResult(f"license-{props['skuPartNumber']}", outs)

    def update(self, _id, olds, news):
        managed = set(olds.get("users") or []) | set(olds.get("members") or [])
        return dynamic.UpdateResult(self._apply(news, managed=sorted(managed), old_groups=olds.get("groups") or []))

    def read(self, id_, props):
        graph = LicenseReader.for_props(props)
        sku_id = props.get("skuId") or graph.sku()["skuId"]
        direct, inherited = graph.holders(sku_id)
        return dynamic.ReadResult(id_, {**props, "skuId": sku_id, "members": direct, "groupMembers": inherited})

    def delete(self, _id, props):
        graph = LicenseWriter.for_props(props)
        sku_id = props.get("skuId") or graph.sku()["skuId"]
        direct, _ = graph.holders(sku_id)
        managed = set(props.get("users") or []) | set(props.get("members") or [])
        graph.assign_users(sku_id, [], [], sorted(set(direct) & managed), None)
        groups = graph.groups(props.get("groups"))
        graph.assign_groups(sku_id, [], groups, [], [n for n, g in groups.items() if graph.group_holds(g, sku_id)])

    def _apply(self, props: dict, managed: list[str], old_groups: list[str]) -> dict:
        graph = LicenseWriter.for_props(props)
        sku = graph.sku()
        sku_id = str(sku["skuId"])
        disabled = disabled_plan_ids(sku, props.get("disabledPlans"))
        direct, _ = graph.holders(sku_id)
        add, remove = user_changes(props.get("users"), direct, managed)
        wanted_groups = list(props.get("groups") or [])
        groups = graph.groups(sorted(set(wanted_groups) | set(old_groups)))
        group_add = [n for n in wanted_groups if not graph.group_holds(groups[n], sku_id)]
        group_remove = [n for n in old_groups if n not in wanted_groups and graph.group_holds(groups[n], sku_id)]
        check_free_units(sku, len(add), len(remove))
        graph.assign_users(sku_id, disabled, add, remove, props.get("usageLocation"))
        graph.assign_groups(sku_id, disabled, groups, group_add, group_remove)
        direct_after = sorted((set(direct) - set(remove)) | set(add))
        if group_add:
            inherited = graph.inherited_after(sku_id, groups, group_add)
        else:
            _, inherited = graph.holders(sku_id) if group_remove else (None, [])
        members = [u for u in direct_after if u in set(props.get("users") or [])]
        return {**props, "skuId": sku_id, "members": members, "groupMembers": inherited}


class LicenseAssignment(dynamic.Resource, module="bcsi", name="LicenseAssignment"):
    """The set of users (and groups) holding one SKU directly. Outputs: skuId, members, groupMembers."""

    skuId: pulumi.Output[str]
    members: pulumi.Output[list]
    groupMembers: pulumi.Output[list]

    def __init__(self, name: str, *, connection, sku_part_number: str, users=(), groups=(), disabled_plans=(),
                 usage_location: str | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__(LicenseAssignmentProvider(), name, {
            "connection": connection,
            "skuPartNumber": sku_part_number,
            "users": normalize_users(users),
            "groups": sorted(set(groups or ())),
            "disabledPlans": sorted(set(disabled_plans or ())),
            "usageLocation": usage_location,
            "skuId": None,
            "members": None,
            "groupMembers": None,
        }, opts)
