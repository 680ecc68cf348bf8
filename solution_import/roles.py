"""RoleAssignment: one Dataverse security role and the whole set of principals holding it.

Reads are paged and few (the role, its holders, the principals to add); writes are only the difference,
as associate/disassociate requests in Dataverse `$batch` change sets. A no-change run writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from mscloud.dataverse import in_filters
from mscloud.odata import odata_string
from mscloud.outcome import converge_after_drop
from mscloud.replication import SYNC_CAUSE, ReplicationTimeout, wait_for
from mscloud.wellknown import APPLICATION, USER
from solution_import.common import DataverseSetupError, dataverse_for, guid
from solution_import.members import MemberChanges, PrincipalError, as_key, member_changes, normalise

from solution_import.role_lookup import RoleLookup, pick_root_role, role_lookup, short_name

_HOLDER_FIELDS = ["systemuserid", "domainname", "applicationid", "_businessunitid_value"]
_ROLE_FIELDS = ["roleid", "name", "_businessunitid_value", "_parentrootroleid_value"]


class UnknownPrincipal(DataverseSetupError):
    """A principal that has no systemuser in Dataverse."""


@dataclass(frozen=True)
class Holder:
    systemuserid: str
    business_unit: str | None


@dataclass(frozen=True)
class ResolvedRole:
    """A root role and its copy in every business unit (Dataverse copies root roles into child units)."""

    root_id: str
    how: str                       # how it was found, for messages ("by id …", "by name '…'")
    copies: dict[str, str]         # business unit id -> that unit's roleid (the root's own unit included)

    @property
    def root_business_unit(self) -> str | None:
        return next((unit for unit, role in self.copies.items() if role == self.root_id), None)

    def copy_for(self, business_unit: str | None) -> str:
        """The role a principal of `business_unit` can hold: only its own unit's copy (Dataverse's rule)."""
        if business_unit in self.copies:
            return self.copies[business_unit]
        raise DataverseSetupError(f"role {self.root_id} has no copy in business unit {business_unit}")


def find_role(dataverse, lookup: RoleLookup) -> ResolvedRole:
    """The role `lookup` names and its copies, in one query (ids, then names; see solution_import/role_lookup.py)."""
    terms = [f"roleid eq {i}" for i in lookup.ids] + [f"_parentrootroleid_value eq {i}" for i in lookup.ids]
    terms += [f"name eq {odata_string(n)}" for n in lookup.names]
    rows = dataverse.list("roles", select=_ROLE_FIELDS, filter=" or ".join(terms))
    root, how = pick_root_role(rows, lookup)
    if root is None:
        raise DataverseSetupError(f"role {lookup.name!r} does not exist in this Dataverse environment (looked up "
                                  f"{how}; is the integration solution imported?)")
    root_id = guid(root["roleid"])
    copies = {guid(r.get("_businessunitid_value")): guid(r["roleid"]) for r in rows
              if guid(r["roleid"]) == root_id or guid(r.get("_parentrootroleid_value")) == root_id}
    return ResolvedRole(root_id, how, copies)


def resolve_role(dataverse, role_name: str, role_id: str | None = None) -> str:
    """The root role's id (BC's fixed id, `role_id`, then the known names)."""
    return find_role(dataverse, role_lookup(role_name, role_id=role_id)).root_id


def holder_principal(row: dict) -> tuple[str, str] | None:
    """(type, key) of a systemuser row: an application user by app id, a user by UPN; None when it has neither."""
    if row.get("applicationid"):
        return (APPLICATION, guid(row["applicationid"]))
    if row.get("domainname"):
        return (USER, row["domainname"].strip().lower())
    return None


def holder_rows(dataverse, role_id: str, fields=()) -> list[dict]:
    """Every holder of the root role or of any of its copies as systemuser rows (the holder fields plus
    `fields`), in one paged query: a lambda over the user's roles."""
    return dataverse.list("systemusers", select=_HOLDER_FIELDS + list(fields),
                          filter=f"systemuserroles_association/any(r:r/roleid eq {role_id} "
                                 f"or r/_parentrootroleid_value eq {role_id})")


def _by_principal(rows: list[dict]) -> dict[tuple[str, str], Holder]:
    found = {}
    for row in rows:
        key = holder_principal(row)
        if key is not None:
            found[key] = Holder(guid(row["systemuserid"]), guid(row.get("_businessunitid_value")))
    return found


def read_holders(dataverse, role_id: str) -> dict[tuple[str, str], Holder]:
    """Every holder of the role (any business unit's copy) as {(type, key): Holder}, in one paged query."""
    return _by_principal(holder_rows(dataverse, role_id))


def find_principals(dataverse, principals: list[dict]) -> dict[tuple[str, str], Holder]:
    """systemusers (id, business unit) of the principals Dataverse has: one paged In query per kind (split only for
    very long lists)."""
    by_type = {USER: [], APPLICATION: []}
    for p in principals:
        by_type[p["type"]].append(p["key"])
    found: dict[tuple[str, str], Holder] = {}
    for type_, field in ((USER, "domainname"), (APPLICATION, "applicationid")):
        values = sorted(by_type[type_]) if type_ == USER else sorted(guid(k) for k in by_type[type_])
        for condition in in_filters(field, values):
            rows = dataverse.list("systemusers", select=_HOLDER_FIELDS, filter=condition)
            found.update({key: holder for key, holder in _by_principal(rows).items() if key[0] == type_})
    return found


def _unknown(missing: list[dict], waited: str = "") -> UnknownPrincipal:
    names = ", ".join(f"{p['type']} {p['key']}" for p in missing)
    return UnknownPrincipal(
        f"not in Dataverse: {names} (users appear after licensing and sync from Entra ID; application users "
        f"need an ApplicationUser){waited}; no role assignment was changed"
    )


def resolve_when_synced(dataverse, principals: list[dict]) -> dict[tuple[str, str], Holder]:
    """systemusers for every principal, waiting (bounded, reported) while users are missing: Dataverse adds licensed Entra
    users by a background sync, minutes after the licence (https://learn.microsoft.com/power-platform/admin/create-users).
    A missing application user is not waited for: only an ApplicationUser creates one."""
    missing: list[dict] = []

    def attempt():
        found = find_principals(dataverse, principals)
        missing[:] = [p for p in principals if as_key(p) not in found]
        if any(p["type"] == APPLICATION for p in missing):
            raise _unknown(missing)
        return None if missing else found

    try:
        return wait_for(attempt, report=pulumi.log.info, cause=SYNC_CAUSE,
                        waiting=lambda: f"Dataverse to sync {', '.join(p['key'] for p in missing)} from Entra ID")
    except ReplicationTimeout as timeout:
        raise _unknown(missing, f" -- {timeout}") from None



def apply_changes(dataverse, role: ResolvedRole, changes: MemberChanges,
                  holders: dict[tuple[str, str], Holder]) -> int:
    """Associates and disassociates only the difference, each principal with its own business unit's copy of
    the role, in `$batch` change sets; returns the write count."""
    if changes.empty:
        return 0
    added = resolve_when_synced(dataverse, changes.added) if changes.added else {}
    ops = []   # (principal key, adding, request)
    for p in changes.added:
        user = added[as_key(p)]
        role_ref = {"@odata.id": dataverse.ref_url("roles", role.copy_for(user.business_unit))}
        ops.append((as_key(p), True, {"method": "POST", "body": role_ref,
                                      "url": f"systemusers({user.systemuserid})/systemuserroles_association/$ref"}))
    for p in changes.removed:
        user = holders[as_key(p)]
        ops.append((as_key(p), False, {"method": "DELETE", "url": f"systemusers({user.systemuserid})/"
                                       f"systemuserroles_association({role.copy_for(user.business_unit)})/$ref"}))

    def missing(pending: list[tuple]) -> list[tuple]:
        live = read_holders(dataverse, role.root_id)
        return [op for op in pending if (op[0] in live) != op[1]]

    # Not re-sent blindly after a dropped connection: associating a pair that exists is refused (0x80040237), which
    # fails the whole change set, so the holders are re-read and only what is missing is sent.
    def send(pending: list[tuple]) -> None:   # each op links or unlinks a different principal
        dataverse.batch([op[2] for op in pending], changeset=True, independent=True)

    converge_after_drop(ops, send, missing,
                        during=f"the role $batch of {role.root_id}", reread="the role's holders",
                        report=pulumi.log.info)
    return len(ops)


def desired_members(props: dict) -> list[dict]:
    return normalise(props.get("principals") or [], props.get("integrationPrincipal"))


def _members(holders: dict[tuple[str, str], str]) -> list[dict]:
    return [{"type": t, "key": k} for t, k in sorted(holders)]


def converge(props: dict) -> dict:
    """Makes the role's holders exactly the desired set; returns the outputs."""
    dataverse = dataverse_for(props)
    desired = desired_members(props)
    role = find_role(dataverse, role_lookup(props["roleName"], role_id=props.get("roleId")))
    holders = read_holders(dataverse, role.root_id)
    changes = member_changes(_members(holders), desired)
    if not changes.empty:
        pulumi.log.info(f"role {props['roleName']}: {changes.summary()}")
    apply_changes(dataverse, role, changes, holders)
    return {**props, "resolvedRoleId": role.root_id, "members": desired}


class RoleAssignmentProvider(ResourceProvider):
    def create(self, props):
        outs = converge(props)
        return CreateResult(id_=outs["resolvedRoleId"], outs=outs)

    def read(self, id_, props):
        """The live holders, so `pulumi refresh` shows drift (one paged request)."""
        holders = read_holders(dataverse_for(props), id_)
        return ReadResult(id_=id_, outs={**props, "resolvedRoleId": id_, "members": _members(holders)})

    def diff(self, id_, olds, news):
        """A different role is a replacement; the same role found another way (a package id now known for a role
        found by name before) is not."""
        wanted = guid(news.get("roleId"))
        if (wanted and wanted not in (guid(olds.get("roleId")), guid(olds.get("resolvedRoleId")))) or (
                not wanted and short_name(olds.get("roleName")) != short_name(news.get("roleName"))):
            return DiffResult(changes=True, replaces=["roleId", "roleName"])
        try:
            changes = member_changes(olds.get("members") or [], desired_members(news))
        except (PrincipalError, TypeError, KeyError, AttributeError):
            return DiffResult(changes=True, replaces=[])  # principals not known yet (preview of new outputs)
        if not changes.empty:
            pulumi.log.info(f"role {news.get('roleName')}: {changes.summary()}")
        return DiffResult(changes=not changes.empty or olds.get("environmentUrl") != news.get("environmentUrl"),
                          replaces=[])

    def update(self, id_, olds, news):
        return UpdateResult(outs=converge(news))

    def delete(self, id_, props):
        """Removes the principals this resource manages (its desired set) that still hold the role.

        Holders added out of band and seen only by a refresh are left alone: deleting the resource gives
        up management of the role, it does not empty it."""
        dataverse = dataverse_for(props)
        holders = read_holders(dataverse, id_)
        managed = {as_key(p) for p in desired_members(props)}
        removed = [{"type": t, "key": k} for t, k in sorted(managed & set(holders))]
        if removed:
            try:
                role = find_role(dataverse, role_lookup(props["roleName"], role_id=id_))
            except DataverseSetupError:
                return    # the role is gone (its solution uninstalled), and its holders with it
            apply_changes(dataverse, role, MemberChanges([], removed), holders)


class RoleAssignment(Resource, module="bcsi", name="RoleAssignment"):
    """One Dataverse security role and the set of users and application users holding it."""

    resolvedRoleId: pulumi.Output[str]
    members: pulumi.Output[list]

    def __init__(self, resource_name: str, *, connection: dict, environment_url: pulumi.Input[str],
                 role_name: str, principals: pulumi.Input[list], role_id: str | None = None,
                 integration_principal: pulumi.Input[dict] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(RoleAssignmentProvider(), resource_name, {
            "connection": connection, "environmentUrl": environment_url, "roleName": role_name,
            "roleId": next(iter(role_lookup(role_name, role_id=role_id).ids), None),
            "principals": principals, "integrationPrincipal": integration_principal,
            "resolvedRoleId": None, "members": None,
        }, opts)
