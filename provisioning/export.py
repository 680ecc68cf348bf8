"""`bcsi export`: read a hand-made integration and describe it as stack settings whose first `up` writes nothing.

Every read is one the resources, `bcsi plan` or `bcsi check` already make (solution_import.roles for role holders,
provisioning.licenses.LicenseReader for licences, provisioning.couplings for salespersons, find_solution for the
solution), so the exported settings find each object by the same natural key the resources look it up by.
What the settings cannot say exactly is kept in `not_adopted`, with the reason. Reads only; no secret is read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mscloud.wellknown import (APPLICATION, INTEGRATION, INTEGRATION_ADMINISTRATOR, INTEGRATION_ROLES,
                                fixed_role_id)
from policies.config import DEFAULT_ALLOWED_SKUS, DEFAULT_MAX_CREDENTIAL_DAYS
from provisioning import couplings
from provisioning.licenses import LicenseReader, find_sku, holders
from solution_import.common import ACCESS_MODE_NON_INTERACTIVE, DataverseSetupError, guid, root_business_unit
from solution_import.package import read_package
from solution_import.roles import holder_principal, holder_rows, resolve_role
from solution_import.solution import find_solution
from solution_import.versions import compare_versions

SOLUTION_PLACEHOLDER = "REPLACE-with-the-installed-integration-solution.zip"
_PRINCIPAL_FIELDS = ["accessmode", "isdisabled", "_businessunitid_value"]


class ExportError(Exception):
    """The tenant holds nothing a stack could adopt (e.g. no integration principal): one clear line."""


@dataclass(frozen=True)
class ExportRequest:
    """What to read: the cloud and environment, the SKUs, the BC company, and the package the user supplies."""

    stack: str
    cloud: str
    tenant_id: str | None = None
    dataverse_url: str | None = None
    bc_environment: str | None = None
    bc_company: str | None = None
    skus: tuple[str, ...] = ()
    solution_path: str | None = None        # relative to the project directory, as bcsi:solution.path
    environment_kind: str = "dev"


@dataclass
class Export:
    """The stack's `bcsi:` settings in file order, a comment per key, and what could not be adopted exactly."""

    config: dict = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=dict)
    not_adopted: list[str] = field(default_factory=list)

    def note(self, key: str, line: str) -> None:
        self.comments.setdefault(key, []).append(line)


def export_stack(request: ExportRequest, clients, project_dir: Path) -> Export:
    """Reads the tenant, its Dataverse environment and (when named) the BC company; returns the settings."""
    result = Export()
    result.config["bcsi:cloud"] = request.cloud
    if request.cloud != "sandbox":
        result.config["bcsi:tenantId"] = request.tenant_id or clients.cloud.tenant_id
        result.config["bcsi:dataverseUrl"] = request.dataverse_url
    dataverse = clients.dataverse(request.dataverse_url)
    if request.bc_environment:
        result.config["bcsi:businessCentral"] = {"environment": request.bc_environment,
                                                 **({"company": request.bc_company} if request.bc_company else {})}
    holders_by_role = read_role_holders(dataverse, result)
    principal = integration_principal(holders_by_role.get(INTEGRATION_ADMINISTRATOR, {}), dataverse, result)
    result.config["bcsi:identity"] = identity_settings(principal)
    what = "application user" if principal[0] == APPLICATION else "user"
    result.note("bcsi:identity", f"the {what} holding {INTEGRATION_ADMINISTRATOR} (found by BC's fixed role id); its "
                                 "credentials are not exported. Mode existing: the stack adopts the identity and never "
                                 "changes it. To let the stack own it, switch to mode manage (provisioning/README.md, "
                                 "Identity) and run `bcsi plan` first: mode manage finds the app by displayName.")
    if request.skus:
        result.config["bcsi:licenses"] = license_settings(clients, request.skus, result)
    result.config["bcsi:roles"] = role_settings(holders_by_role, principal)
    if request.bc_environment:
        salespersons = salesperson_proposals(clients, dataverse, request, result)
        if salespersons:
            result.config["bcsi:salespersons"] = salespersons
    result.config["bcsi:solution"] = solution_settings(dataverse, request.solution_path, project_dir, result)
    result.config["bcsi:policy"] = policy_settings(request, result)
    return result


# ---------------------------------------------------------------------------------------------------------
# Roles and the integration principal


def read_role_holders(dataverse, result: Export) -> dict[str, dict[tuple[str, str], dict]]:
    """{role: {(type, key): systemuser row}} for the three integration roles, by the resources' own role lookup."""
    found = {}
    for role in INTEGRATION_ROLES:
        try:
            role_id = resolve_role(dataverse, role, fixed_role_id(role))
        except DataverseSetupError as error:
            result.not_adopted.append(f"role {role}: {error}; it is left out of bcsi:roles")
            continue
        rows = holder_rows(dataverse, role_id, fields=_PRINCIPAL_FIELDS)
        by_key = {}
        for row in rows:
            key = holder_principal(row)
            if key is None:
                result.not_adopted.append(f"role {role}: holder systemuser {guid(row.get('systemuserid'))} has neither "
                                          "a UPN nor an application id, so bcsi:roles cannot name it")
            else:
                by_key[key] = row
        found[role] = by_key
    return found


def integration_principal(admins: dict[tuple[str, str], dict], dataverse, result: Export) -> tuple[str, str]:
    """The holder of Integration Administrator (an application user first, as BC's own set-up makes one)."""
    if not admins:
        raise ExportError(f"no user or application user holds {INTEGRATION_ADMINISTRATOR} in Dataverse: set up the "
                          "integration first (BC's assisted setup), or write the stack by hand")
    ordered = sorted(admins, key=lambda k: (k[0] != APPLICATION, k[1]))
    chosen = ordered[0]
    if len(ordered) > 1:
        others = ", ".join(k for _, k in ordered[1:])
        result.not_adopted.append(f"{INTEGRATION_ADMINISTRATOR} is held by {len(ordered)} principals; {chosen[1]} is "
                                  f"taken as the integration principal and {others} stay listed, which the policy "
                                  "pack refuses (Integration Administrator only for the integration principal)")
    row = admins[chosen]
    what = "application user" if chosen[0] == APPLICATION else "user"
    if row.get("accessmode") != ACCESS_MODE_NON_INTERACTIVE:
        result.not_adopted.append(f"the integration {what} {chosen[1]} has access mode {row.get('accessmode')}: "
                                  "the first `up` sets 4 (non-interactive), as BC requires")
    elif chosen[0] == APPLICATION and guid(row.get("_businessunitid_value")) != root_business_unit(dataverse):
        result.not_adopted.append(f"the application user {chosen[1]} is not in the root business unit: the first "
                                  "`up` moves it there (which removes its roles until the role sets are applied)")
    return chosen


def identity_settings(principal: tuple[str, str]) -> dict:
    kind, key = principal
    who = {"app": {"appId": key}} if kind == APPLICATION else {"user": {"userPrincipalName": key}}
    return {"mode": "existing", **who}


def role_settings(holders_by_role: dict, principal: tuple[str, str]) -> dict[str, list[str]]:
    """bcsi:roles: each role's holders as UPNs and app ids, the integration principal as `integration`."""
    roles = {}
    for role, by_key in holders_by_role.items():
        names = sorted(INTEGRATION if key == principal else key[1] for key in by_key)
        roles[role] = sorted(names, key=lambda n: (n != INTEGRATION, n))
    return roles


# ---------------------------------------------------------------------------------------------------------
# Licences


def license_settings(clients, skus, result: Export) -> dict[str, dict]:
    """Per SKU: direct holders as users, licensed groups by name; inherited holders and plans as comments."""
    subscribed = clients.graph.list("/subscribedSkus")
    settings = {}
    for part_number in skus:
        sku = find_sku(subscribed, part_number)
        part_number = str(sku["skuPartNumber"])
        sku_id = str(sku["skuId"])
        reader = LicenseReader(clients, part_number)
        rows = reader.holder_rows(sku_id)
        direct, inherited = holders(rows, sku_id)
        groups = sorted(str(g.get("displayName")) for g in reader.licensed_groups(sku_id))
        entry: dict = {"users": direct}
        if groups:
            entry["groups"] = groups
        plans = disabled_plans(rows, sku, direct, result)
        if plans:
            entry["disabledPlans"] = plans
        through_groups = sorted(set(inherited) - set(direct))
        if through_groups:
            result.note("bcsi:licenses", f"{part_number} through the groups only (not listed under users): "
                                         f"{', '.join(through_groups)}")
        settings[part_number] = entry
    return settings


def disabled_plans(rows: list[dict], sku: dict, direct: list[str], result: Export) -> list[str]:
    """The plan names every direct holder has disabled; when they differ per user, none, and a not-adopted line."""
    sku_id = str(sku["skuId"]).lower()
    names = {str(p.get("servicePlanId")).lower(): str(p.get("servicePlanName")) for p in sku.get("servicePlans") or ()}
    wanted = set(direct)
    seen = set()
    for row in rows:
        if str(row.get("userPrincipalName", "")).lower() not in wanted:
            continue
        for assigned in direct_assignments(row, sku_id):
            seen.add(tuple(sorted(names.get(str(p).lower(), str(p)) for p in assigned.get("disabledPlans") or ())))
    if len(seen) > 1:
        variants = "; ".join(", ".join(v) or "none" for v in sorted(seen))
        result.not_adopted.append(f"licence {sku.get('skuPartNumber')}: disabled plans differ per user ({variants}); "
                                  "exported without disabledPlans: holders keep their plans, users added later get all")
        return []
    return list(next(iter(seen), ()))


def direct_assignments(row: dict, sku_id: str) -> list[dict]:
    """The user's own assignment of the SKU (licenseAssignmentStates without a group; assignedLicenses merges
    direct and group plans), or its assignedLicenses entry when no states were returned."""
    states = [s for s in row.get("licenseAssignmentStates") or ()
              if str(s.get("skuId", "")).lower() == sku_id and not s.get("assignedByGroup")]
    return states or [a for a in row.get("assignedLicenses") or () if str(a.get("skuId", "")).lower() == sku_id]


# ---------------------------------------------------------------------------------------------------------
# Salespersons, solution, policy


def salesperson_proposals(clients, dataverse, request: ExportRequest, result: Export) -> dict[str, str]:
    """BC salespersons whose e-mail is the UPN of an enabled Dataverse user holding a role, as proposals."""
    bc = clients.business_central(request.bc_environment)
    company = couplings.pick_company(bc.companies(), request.bc_company)
    salespersons, unchecked = couplings.read_salespersons(bc, company)
    if unchecked:   # an older Business Central: no salespersons to propose, or some fields not read
        result.note("bcsi:salespersons", unchecked)
    people = [p for p in salespersons or [] if not p.get("blocked")]
    emails = sorted({str(p.get("email") or "").strip().lower() for p in people} - {""})
    users = couplings.read_sales_users(dataverse, emails) if emails else []
    usable = {str(u.get("domainname", "")).lower() for u in users
              if not u.get("isdisabled") and u.get("systemuserroles_association")}
    proposals = {str(p["code"]).upper(): str(p["email"]).strip().lower() for p in people
                 if str(p.get("email") or "").strip().lower() in usable}
    unmatched = sorted(str(p["code"]).upper() for p in people if str(p["code"]).upper() not in proposals)
    result.note("bcsi:salespersons", "proposals: each BC salesperson whose e-mail is the UPN of an enabled Sales user "
                                     "with a role. Check them; BC applies the coupling (Couple Salespersons)")
    if unmatched:
        result.note("bcsi:salespersons", f"no matching Sales user: {', '.join(unmatched)}")
    return proposals


def solution_settings(dataverse, solution_path: str | None, project_dir: Path, result: Export) -> dict:
    """The package path the user supplies, checked against what is installed; a placeholder when none is given."""
    if not solution_path:
        result.not_adopted.append("bcsi:solution.path: an export cannot download the installed solution package; "
                                  "put the .zip of the installed version in the project and set its path "
                                  "(or export again with --solution-path); `bcsi validate` refuses the placeholder")
        return {"path": SOLUTION_PLACEHOLDER, "uninstallOnDelete": False}
    package = read_package(Path(project_dir) / solution_path)
    installed = find_solution(dataverse, package.unique_name)
    if installed is None:
        result.not_adopted.append(f"solution {package.unique_name} is not installed: the first `up` imports "
                                  f"{package.version}")
    else:
        order = compare_versions(package.version, installed["version"])
        if order:
            effect = (f"the first `up` upgrades it to {package.version}" if order > 0
                      else "`up` refuses a lower version: supply the installed version's package")
            result.not_adopted.append(f"solution {package.unique_name}: {installed['version']} is installed, the "
                                      f"package is {package.version}; {effect}")
        result.note("bcsi:solution", f"installed: {package.unique_name} {installed['version']}")
    result.note("bcsi:solution", "uninstallOnDelete false: `pulumi destroy` leaves the solution installed")
    return {"path": solution_path, "uninstallOnDelete": False}


def policy_settings(request: ExportRequest, result: Export) -> dict:
    """The policy pack's defaults for the environment kind, narrowed to the exported SKUs."""
    policy = {"environmentKind": request.environment_kind, "maxCredentialDays": DEFAULT_MAX_CREDENTIAL_DAYS}
    skus = sorted(result.config.get("bcsi:licenses") or {})
    if skus:
        policy["allowedSkus"] = skus
        outside = [s for s in skus if s not in DEFAULT_ALLOWED_SKUS]
        if outside:
            result.not_adopted.append(f"SKU {', '.join(outside)} is not among the policy pack's default Sales SKUs: "
                                      "the pack refuses it unless its config allows it (policies/README.md)")
    result.note("bcsi:policy", f"the policy pack's defaults for a {request.environment_kind} environment "
                               "(policies/README.md); tighten them here")
    return policy
