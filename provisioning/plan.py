"""`bcsi plan`: the permission changes an `up` would make, read live from the tenant and Dataverse.

Each part compares with the same reads and set rules as the resource that applies it, so plan and
`pulumi preview` agree: roles reuse solution_import.roles (the RoleAssignment owns the whole holder set, so every
extra holder is a revoke), licences reuse provisioning.licenses (only holders the stack assigned before are
revoked: they come from the stack output `licenseAssignments`), the app registration (mode `manage`) is compared
with what provisioning.identity_managed declares; its stack credential is a grant when missing, expired, or (like
`bcsi check`'s warning, provisioning.credentials) ending within the credential window. Read-only: nothing here writes.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from mscloud.connection import clients_for
from mscloud.odata import odata_string
from mscloud.wellknown import (APPLICATION, BUSINESS_CENTRAL_API_READWRITE_ALL, BUSINESS_CENTRAL_API_READWRITE_ALL_ROLE,
                                BUSINESS_CENTRAL_APP_ID, DEFAULT_SECRET_EXPIRY_DAYS, DYNAMICS_CRM_APP_ID,
                                DYNAMICS_CRM_USER_IMPERSONATION, DYNAMICS_CRM_USER_IMPERSONATION_SCOPE,
                                FEDERATED_AUDIENCE, INTEGRATION, STACK_SECRET_NAME)
from provisioning.credentials import (DEFAULT_CREDENTIAL_WINDOW_DAYS, EXPIRING, NO_END, VALID, credential_expiry,
                                      renewal_window_days)
from provisioning.dataverse_connection import role_principals
from provisioning.licenses import LicenseError, LicenseReader, find_sku, normalize_users, user_changes
from solution_import.common import DataverseSetupError
from solution_import.members import as_key, classify, member_changes, normalise
from solution_import.role_lookup import role_lookup
from solution_import.roles import find_principals, find_role, read_holders


@dataclass(frozen=True, order=True)
class Change:
    """One grant or revoke (README.md, *Reviewing changes*); ordered so output groups by principal."""

    principal: str
    kind: str
    target: str
    action: str
    scope: str

    def as_json(self) -> dict:
        data = asdict(self)
        return {key: data[key] for key in ("action", "kind", "principal", "target", "scope")}


@dataclass(frozen=True)
class Plan:
    stack: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()     # what the reviewer should know that is not a change (one line each)

    def as_json(self) -> dict:
        body = {"stack": self.stack, "changes": [c.as_json() for c in self.changes]}
        return {**body, "notes": list(self.notes)} if self.notes else body

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


# ---------------------------------------------------------------------------------------------------------
# Connecting


def previous_outputs(project_dir: str | Path, stack: str) -> dict:
    """`pulumi stack output --json` of the stack, or {} when there is no engine, backend or stack yet.

    Only licence revokes need it: a LicenseAssignment removes only users it assigned before.
    """
    pulumi = shutil.which("pulumi")
    if not pulumi or not (Path(project_dir) / "Pulumi.yaml").exists():
        return {}
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        proc = subprocess.run([pulumi, "stack", "output", "--json", "--stack", stack, "--non-interactive"],
                              cwd=project_dir, env=env, capture_output=True, text=True, timeout=120)
        value = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else {}
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def make_plan(settings, stack: str, conn: dict, outputs: dict | None = None,
              window_days: int = DEFAULT_CREDENTIAL_WINDOW_DAYS, declared: dict | None = None) -> Plan:
    """Reads the live state and returns every grant and revoke, sorted by principal; a stack credential ending
    within `window_days` is a rotation grant. `declared`: the package's role ids (role_lookup.declared_role_ids)."""
    clients = clients_for(conn)
    tenant = settings.tenant_id or clients.cloud.tenant_id or ""
    changes: list[Change] = []
    integration = settings.integration_principal
    if settings.identity.mode == "manage" and settings.identity.app is not None:
        app_plan, app_id = app_changes(clients.graph, settings, tenant, window_days)
        changes += app_plan
        integration = app_id
    changes += license_changes(clients, settings, (outputs or {}).get("licenseAssignments"), tenant)
    notes: list[str] = []
    if settings.roles:
        dataverse = clients.dataverse(settings.dataverse_url)
        changes += role_changes(dataverse, settings.roles, integration, dataverse.org_url, declared, notes)
    return Plan(stack, tuple(sorted(set(changes))), tuple(notes))


# ---------------------------------------------------------------------------------------------------------
# Dataverse roles (solution_import.roles.RoleAssignment)


def principal_name(p: dict) -> str:
    return p["key"]


def role_changes(dataverse, roles: dict, integration: str | None, scope: str, declared: dict | None = None,
                 notes: list[str] | None = None) -> list[Change]:
    """Per role: desired holders (in any business unit) against live ones; a role not imported yet has no holders
    (all grants). Adds to `notes` where the integration principal sits outside the root business unit."""
    stands_for = classify(integration) if integration else {"type": APPLICATION, "key": INTEGRATION}
    changes, seen_in, root_units = [], {}, set()
    for role, members in sorted(roles.items()):
        desired = normalise(role_principals(members), stands_for)
        try:
            found = find_role(dataverse, role_lookup(role, declared))
            holders = read_holders(dataverse, found.root_id)
            root_units.add(found.root_business_unit)
        except DataverseSetupError:
            holders = {}
        seen_in.update({key: holder.business_unit for key, holder in holders.items()})
        diff = member_changes([{"type": t, "key": k} for t, k in sorted(holders)], desired)
        changes += [Change(principal_name(p), "role", role, "grant", scope) for p in diff.added]
        changes += [Change(principal_name(p), "role", role, "revoke", scope) for p in diff.removed]
    if notes is not None and integration and root_units:
        notes += integration_unit_notes(dataverse, as_key(stands_for), seen_in, root_units)
    return changes


def integration_unit_notes(dataverse, key: tuple[str, str], seen_in: dict, root_units: set) -> list[str]:
    """A note when the integration principal is not in the root business unit: it gets its own unit's copies of
    the roles, but Business Central compares its roles with the root roles' ids (CRMConnectionSetup.Table.al).
    Its unit comes from the holder reads; one more read only when it holds none of the roles yet."""
    if key in seen_in:
        unit = seen_in[key]
    else:
        found = find_principals(dataverse, [{"type": key[0], "key": key[1]}])
        if key not in found:
            return []
        unit = found[key].business_unit
    if unit in root_units:
        return []
    return [f"{key[1]} (the integration principal) sits in business unit {unit}, not the root one: it is given "
            f"that unit's copies of its roles, which Business Central does not accept (it checks the root roles' "
            f"ids); move it to the root business unit yourself (that removes its roles; the next `up` gives them "
            f"back)"]


# ---------------------------------------------------------------------------------------------------------
# Licences (provisioning.licenses.LicenseAssignment)


def license_changes(clients, settings, previous: dict | None, tenant: str) -> list[Change]:
    """Per SKU: users to add; users the stack assigned before and no longer lists are revoked; groups to add."""
    if not settings.licenses:
        return []
    skus = clients.graph.list("/subscribedSkus")
    previous = previous if isinstance(previous, dict) else {}
    changes = []
    for part_number, entry in sorted(settings.licenses.items()):
        desired = normalize_users(entry.users)
        try:
            sku = find_sku(skus, part_number)
        except LicenseError:   # no subscription yet: everything configured is new
            changes += [Change(u, "license", part_number, "grant", tenant) for u in desired]
            changes += [Change(f"group:{g}", "license", part_number, "grant", tenant) for g in entry.groups]
            continue
        reader = LicenseReader(clients, part_number)
        sku_id = str(sku["skuId"])
        direct, _inherited = reader.holders(sku_id)
        managed = previous.get(part_number) if isinstance(previous.get(part_number), list) else []
        add, remove = user_changes(desired, direct, managed)
        changes += [Change(u, "license", part_number, "grant", tenant) for u in add]
        changes += [Change(u, "license", part_number, "revoke", tenant) for u in remove]
        if entry.groups:
            try:
                groups = reader.groups(entry.groups)
            except LicenseError:
                groups = {}
            changes += [Change(f"group:{name}", "license", part_number, "grant", tenant)
                        for name in entry.groups if name not in groups or not reader.group_holds(groups[name], sku_id)]
    return changes


# ---------------------------------------------------------------------------------------------------------
# The app registration (provisioning.identity_managed, mode manage)


def app_permissions() -> tuple[tuple[str, str, str, str, str], ...]:
    """What the stack's app asks for and consents to (provisioning/identity_managed.py):
    (resource app, id, type, value, name)."""
    return (
        (DYNAMICS_CRM_APP_ID, DYNAMICS_CRM_USER_IMPERSONATION, "Scope", DYNAMICS_CRM_USER_IMPERSONATION_SCOPE,
         f"Dynamics CRM {DYNAMICS_CRM_USER_IMPERSONATION_SCOPE} (delegated)"),
        (BUSINESS_CENTRAL_APP_ID, BUSINESS_CENTRAL_API_READWRITE_ALL, "Role", BUSINESS_CENTRAL_API_READWRITE_ALL_ROLE,
         f"Dynamics 365 Business Central {BUSINESS_CENTRAL_API_READWRITE_ALL_ROLE} (application)"),
    )


def app_changes(graph, settings, tenant: str,
                window_days: int = DEFAULT_CREDENTIAL_WINDOW_DAYS) -> tuple[list[Change], str | None]:
    """Permissions requested and consented, and the stack's credential; returns (changes, the app's id or None)."""
    app_settings = settings.identity.app
    permissions = app_permissions()
    found = graph.list("/applications", params={
        "$filter": f"displayName eq {odata_string(app_settings.display_name)}",
        "$select": "id,appId,displayName,requiredResourceAccess,passwordCredentials,keyCredentials"})
    if not found:
        who = f"app '{app_settings.display_name}' (new)"
        changes = [Change(who, "api-permission", name, "grant", tenant) for *_, name in permissions]
        changes.append(Change(who, "credential", credential_target(app_settings), "grant", tenant))
        if app_settings.federated is not None:
            changes.append(Change(who, "credential", federated_target(app_settings.federated), "grant", tenant))
        return changes, None
    app = found[0]
    app_id = str(app["appId"]).lower()
    requested = {(str(r.get("resourceAppId")).lower(), str(a.get("id")).lower())
                 for r in app.get("requiredResourceAccess") or () for a in r.get("resourceAccess") or ()}
    consented = consented_permissions(graph, app_id, permissions)
    changes = [Change(app_id, "api-permission", name, "grant", tenant)
               for resource, perm, _type, _value, name in permissions
               if (resource, perm) not in requested or (resource, perm) not in consented]
    wanted = {(resource, perm) for resource, perm, *_ in permissions}
    changes += [Change(app_id, "api-permission", f"{resource}/{perm} (requested)", "revoke", tenant)
                for resource, perm in sorted(requested - wanted)]
    renewal = credential_renewal(graph, app, app_settings, window_days)
    if renewal:
        changes.append(Change(app_id, "credential", renewal, "grant", tenant))
    if app_settings.federated is not None and not has_federated_credential(graph, app, app_settings.federated):
        changes.append(Change(app_id, "credential", federated_target(app_settings.federated), "grant", tenant))
    return changes, app_id


def consented_permissions(graph, app_id: str, permissions) -> set[tuple[str, str]]:
    """(resource app id, permission id) pairs with admin consent: app role assignments and delegated grants."""
    resource_apps = sorted({resource for resource, *_ in permissions})
    scopes = {(resource, value): perm for resource, perm, type_, value, _name in permissions if type_ == "Scope"}
    own = graph.list("/servicePrincipals", params={"$filter": f"appId eq {odata_string(app_id)}", "$select": "id,appId"})
    if not own:
        return set()
    sp_id = own[0]["id"]
    resources = graph.list("/servicePrincipals", params={
        "$filter": f"appId in ({','.join(odata_string(a) for a in resource_apps)})",
        "$select": "id,appId"})
    app_of = {str(r["id"]).lower(): str(r["appId"]).lower() for r in resources}
    consented = set()
    for assignment in graph.list(f"/servicePrincipals/{sp_id}/appRoleAssignments"):
        resource = app_of.get(str(assignment.get("resourceId")).lower())
        if resource:
            consented.add((resource, str(assignment.get("appRoleId")).lower()))
    for grant in graph.list("/oauth2PermissionGrants", params={"$filter": f"clientId eq {odata_string(sp_id)}"}):
        resource = app_of.get(str(grant.get("resourceId")).lower())
        for scope in str(grant.get("scope") or "").split():
            if (resource, scope) in scopes:
                consented.add((resource, scopes[(resource, scope)]))
    return consented


def credential_target(app_settings) -> str:
    """BC's credential: the stack's client secret or its certificate."""
    if app_settings.credential == "secret":
        return f"client secret '{STACK_SECRET_NAME}' ({app_settings.secret_expiry_days or DEFAULT_SECRET_EXPIRY_DAYS} days)"
    return f"certificate {app_settings.certificate_path}"


def federated_target(federated) -> str:
    """The pipeline's federated credential on the same app."""
    return f"federated credential {federated.subject} ({federated.issuer})"


def credential_renewal(graph, app: dict, app_settings, window_days: int = DEFAULT_CREDENTIAL_WINDOW_DAYS,
                       now: datetime | None = None) -> str | None:
    """The credential target to grant: the configured one when none is current, the same with its current end when
    that falls within the window (rotate a secret, renew a certificate); None when nothing is due."""
    now = now or datetime.now(timezone.utc)
    if app_settings.credential == "secret":   # the same window CredentialWindow rotates in (at most half the life)
        window_days = renewal_window_days(app_settings.secret_expiry_days, window_days)
    expiry = credential_expiry(stack_credentials(app, app_settings), now, window_days)
    if expiry.state in (VALID, NO_END):
        return None
    if expiry.state == EXPIRING:
        due = "rotation due" if app_settings.credential == "secret" else "renewal due"
        return f"{credential_target(app_settings)}: {due}, current one expires {expiry.date}"
    return credential_target(app_settings)


def stack_credentials(app: dict, app_settings) -> list[dict]:
    """The credentials the stack manages: its named client secret, or the app's certificates."""
    if app_settings.credential == "secret":
        return [c for c in app.get("passwordCredentials") or () if c.get("displayName") == STACK_SECRET_NAME]
    return list(app.get("keyCredentials") or ())


def has_federated_credential(graph, app: dict, federated) -> bool:
    """Whether the app trusts the configured issuer and subject for the Entra token exchange audience."""
    creds = graph.list(f"/applications/{app['id']}/federatedIdentityCredentials")
    return any(c.get("issuer") == federated.issuer and c.get("subject") == federated.subject
               and FEDERATED_AUDIENCE in (c.get("audiences") or ()) for c in creds)
