"""RoleAssignment: one Dataverse security role and the whole set of principals holding it.

Reads are paged and few (the role, its holders, the principals to add); writes are only the difference,
as associate/disassociate requests in Dataverse `$batch` change sets. A no-change run writes nothing.
"""
from __future__ import annotations

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from mscloud.dataverse import in_filters
from mscloud.errors import NotFound
from mscloud.odata import odata_string
from mscloud.replication import SYNC_CAUSE, ReplicationTimeout, wait_for
from mscloud.wellknown import APPLICATION, USER, fixed_role_id
from solution_import.common import DataverseSetupError, dataverse_for, guid, root_business_unit
from solution_import.members import MemberChanges, PrincipalError, as_key, member_changes, normalise

_HOLDER_FIELDS = ["systemuserid", "domainname", "applicationid"]


class UnknownPrincipal(DataverseSetupError):
    """A principal that has no systemuser in Dataverse."""


def resolve_role(dataverse, role_name: str, role_id: str | None) -> str:
    """The role's id: checked by id when one is given, else found by name in the root business unit."""
    if role_id:
        try:
            found = dataverse.get("roles", guid(role_id), select=["roleid", "name"])
        except NotFound:
            raise DataverseSetupError(
                f"role {role_name!r} looked up by id {guid(role_id)} does not exist in this Dataverse environment "
                f"(is the integration solution imported?)"
            ) from None
        return guid(found["roleid"])
    root = root_business_unit(dataverse)
    rows = dataverse.list("roles", select=["roleid", "name"],
                          filter=f"name eq {odata_string(role_name)} and _businessunitid_value eq {root}")
    if not rows:
        raise DataverseSetupError(f"role {role_name!r} looked up by name does not exist in the root business unit")
    return guid(rows[0]["roleid"])


def holder_principal(row: dict) -> tuple[str, str] | None:
    """(type, key) of a systemuser row: an application user by app id, a user by UPN; None when it has neither."""
    if row.get("applicationid"):
        return (APPLICATION, guid(row["applicationid"]))
    if row.get("domainname"):
        return (USER, row["domainname"].strip().lower())
    return None


def holder_rows(dataverse, role_id: str, fields=()) -> list[dict]:
    """Every holder of the role as systemuser rows (the holder fields plus `fields`), in one paged query."""
    return dataverse.list(f"roles({role_id})/systemuserroles_association", select=_HOLDER_FIELDS + list(fields))


def read_holders(dataverse, role_id: str) -> dict[tuple[str, str], str]:
    """Every holder of the role as {(type, key): systemuserid}, in one paged query."""
    rows = holder_rows(dataverse, role_id)
    holders = {}
    for row in rows:
        key = holder_principal(row)
        if key is not None:
            holders[key] = guid(row["systemuserid"])
    return holders


def find_principals(dataverse, principals: list[dict]) -> dict[tuple[str, str], str]:
    """systemuserids of the principals Dataverse has: one paged In query per kind (split only for very long lists)."""
    by_type = {USER: [], APPLICATION: []}
    for p in principals:
        by_type[p["type"]].append(p["key"])
    found: dict[tuple[str, str], str] = {}
    for type_, field in ((USER, "domainname"), (APPLICATION, "applicationid")):
        values = sorted(by_type[type_]) if type_ == USER else sorted(guid(k) for k in by_type[type_])
        for condition in in_filters(field, values):
            rows = dataverse.list("systemusers", select=_HOLDER_FIELDS, filter=condition)
            for row in rows:
                key = holder_principal(row)
                if key is not None and key[0] == type_:
                    found[key] = guid(row["systemuserid"])
    return found


def _unknown(missing: list[dict], waited: str = "") -> UnknownPrincipal:
    names = ", ".join(f"{p['type']} {p['key']}" for p in missing)
    return UnknownPrincipal(
        f"not in Dataverse: {names} (users appear after licensing and sync from Entra ID; application users "
        f"need an ApplicationUser){waited}; no role assignment was changed"
    )


def resolve_when_synced(dataverse, principals: list[dict]) -> dict[tuple[str, str], str]:
    """systemuserids for every principal, waiting (bounded, reported) while users are missing: Dataverse adds licensed Entra
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


def apply_changes(dataverse, role_id: str, changes: MemberChanges,
                  holders: dict[tuple[str, str], str]) -> int:
    """Associates and disassociates only the difference, in `$batch` change sets; returns the write count."""
    if changes.empty:
        return 0
    added_ids = resolve_when_synced(dataverse, changes.added) if changes.added else {}
    role_ref = {"@odata.id": dataverse.ref_url("roles", role_id)}
    ops = [{"method": "POST", "url": f"systemusers({added_ids[as_key(p)]})/systemuserroles_association/$ref",
            "body": role_ref} for p in changes.added]
    ops += [{"method": "DELETE", "url": f"systemusers({holders[as_key(p)]})/systemuserroles_association({role_id})/$ref"}
            for p in changes.removed]
    dataverse.batch(ops, changeset=True)
    return len(ops)


def desired_members(props: dict) -> list[dict]:
    return normalise(props.get("principals") or [], props.get("integrationPrincipal"))


def _members(holders: dict[tuple[str, str], str]) -> list[dict]:
    return [{"type": t, "key": k} for t, k in sorted(holders)]


def converge(props: dict) -> dict:
    """Makes the role's holders exactly the desired set; returns the outputs."""
    dataverse = dataverse_for(props)
    desired = desired_members(props)
    role_id = resolve_role(dataverse, props["roleName"], props.get("roleId"))
    holders = read_holders(dataverse, role_id)
    changes = member_changes(_members(holders), desired)
    if not changes.empty:
        pulumi.log.info(f"role {props['roleName']}: {changes.summary()}")
    apply_changes(dataverse, role_id, changes, holders)
    return {**props, "resolvedRoleId": role_id, "members": desired}


class RoleAssignmentProvider(ResourceProvider):
    def create(self, props):
        outs = converge(props)
        return CreateResult(id_=outs["resolvedRoleId"], outs=outs)

    def read(self, id_, props):
        """The live holders, so `pulumi refresh` shows drift (one paged request)."""
        dataverse = dataverse_for(props)
        try:
            holders = read_holders(dataverse, id_)
        except NotFound:
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs={**props, "resolvedRoleId": id_, "members": _members(holders)})

    def diff(self, id_, olds, news):
        if guid(olds.get("roleId")) != guid(news.get("roleId")) or (
                not news.get("roleId") and olds.get("roleName") != news.get("roleName")):
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
        try:
            holders = read_holders(dataverse, id_)
        except NotFound:
            return
        managed = {as_key(p) for p in desired_members(props)}
        removed = [{"type": t, "key": k} for t, k in sorted(managed & set(holders))]
        apply_changes(dataverse, id_, MemberChanges([], removed), holders)


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
            "roleId": guid(role_id) if role_id else fixed_role_id(role_name),
            "principals": principals, "integrationPrincipal": integration_principal,
            "resolvedRoleId": None, "members": None,
        }, opts)
