"""`bcsi check`: the tests Business Central runs when the Dataverse connection is enabled, run first.

Live reads only (Graph, Dataverse, Business Central API), never a write and no Pulumi state: a pipeline runs it
after `pulumi up`, an operator when synchronization breaks. BC's own rules (its user set-up,
https://learn.microsoft.com/dynamics365/business-central/admin-setting-up-integration-with-dynamics-sales, and its base
application's connection test) plus the seed's other failure causes (couplings, licences, credentials). Each rule gives
`CheckResult`s; a rule whose reads fail gives one `fail` naming the error instead of stopping the others.
Reads are paged and per kind, never per user, so the request count does not grow with the stack's users.
"""
from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path

from mscloud.errors import ServiceError
from mscloud.odata import odata_string
from mscloud.wellknown import (APPLICATION, DYNAMICS_CRM_APP_ID, DYNAMICS_CRM_USER_IMPERSONATION_SCOPE, FIXED_ID_ROLES,
                                INTEGRATION, PRODUCT_AVAILABILITY_USER, SYSTEM_ADMINISTRATOR_TEMPLATE, USER)
from provisioning import couplings
from provisioning.check_bc import BC_ACCESS, check_bc_access, check_currency, check_salespersons  # noqa: F401
from provisioning.check_results import FAIL, PASS, WARN, CheckResult, exit_code, failed, passed, warned  # noqa: F401
from provisioning.credentials import (DEFAULT_CREDENTIAL_WINDOW_DAYS, EXPIRED, EXPIRING, NO_END, NONE,
                                      credential_expiry)
from provisioning.licenses import LicenseError, LicenseReader
from solution_import.common import ACCESS_MODE_NON_INTERACTIVE, DataverseSetupError, guid, root_business_unit
from solution_import.package import PackageError, read_package
from solution_import.role_lookup import declared_role_ids, pick_root_role, role_lookup
from solution_import.roles import holder_rows
from solution_import.versions import VersionError, compare_versions

_ROLE_FIELDS = ["roleid", "name", "_roletemplateid_value", "_businessunitid_value"]
_USER_FIELDS = ["systemuserid", "domainname", "applicationid", "isdisabled", "accessmode", "_businessunitid_value"]
# What one check cannot read is reported as that check's failure; anything else is a bug and propagates.
READ_ERRORS = (ServiceError, DataverseSetupError, couplings.CouplingError, LicenseError, PackageError, VersionError)




# ---------------------------------------------------------------------------------------------------------
# Live reads, each made once per run and shared by the rules that need it


class LiveEnvironment:
    """The tenant, Dataverse environment and BC company of one stack, read lazily and at most once."""

    def __init__(self, settings, clients, project_dir: Path, connection: dict, now: dt.datetime | None = None):
        self.settings = settings
        self.clients = clients
        self.project_dir = Path(project_dir)
        self.connection = connection
        self.now = now or dt.datetime.now(dt.timezone.utc)

    @cached_property
    def dataverse(self):
        return self.clients.dataverse(self.settings.dataverse_url)

    @cached_property
    def root_unit(self) -> str:
        return root_business_unit(self.dataverse)

    @cached_property
    def root_roles(self) -> list[dict]:
        """Every role of the root business unit: fixed ids, template ids and names in one paged read."""
        return self.dataverse.list("roles", select=_ROLE_FIELDS, filter=f"_businessunitid_value eq {self.root_unit}")

    @cached_property
    def declared(self) -> dict[str, str]:
        """The role ids the stack's solution package declares (the lookup's second choice after BC's fixed ids)."""
        solution = self.settings.solution
        return declared_role_ids(self.project_dir / solution.path if solution else None)

    @cached_property
    def app(self) -> dict | None:
        """The integration app registration (by appId, or by display name when the stack creates it)."""
        app = self.settings.identity.app
        if app is None:
            return None
        condition = f"appId eq {odata_string(app.app_id)}" if app.app_id else f"displayName eq {odata_string(app.display_name)}"
        found = self.clients.graph.list("/applications", params={
            "$filter": condition,
            "$select": "id,appId,displayName,passwordCredentials,keyCredentials"})
        return found[0] if found else None

    @cached_property
    def principal(self) -> tuple[str, str] | None:
        """(kind, key) of the integration principal: ("application", appId) or ("user", UPN); None if not found."""
        if self.settings.identity.app is not None:
            app_id = self.settings.identity.app.app_id or (self.app or {}).get("appId")
            return (APPLICATION, guid(app_id)) if app_id else None
        return (USER, self.settings.identity.user.user_principal_name.lower())

    @cached_property
    def bc(self):
        return self.clients.business_central(self.settings.business_central.environment)

    @cached_property
    def company(self) -> dict:
        return couplings.pick_company(self.bc.companies(), self.settings.business_central.company)


def role_named(roles: list[dict], name: str, declared: dict | None = None) -> tuple[dict | None, str]:
    """(role, how it was found) among root roles, as every command finds it (solution_import/role_lookup.py)."""
    return pick_root_role(roles, role_lookup(name, declared))


def is_system_administrator(role: dict) -> bool:
    return guid(role.get("_roletemplateid_value") or role.get("roletemplateid")) == SYSTEM_ADMINISTRATOR_TEMPLATE


# ---------------------------------------------------------------------------------------------------------
# 1. Integration principal


def check_principal(env: LiveEnvironment) -> list[CheckResult]:
    name = "integration principal"
    if env.principal is None:
        what = env.settings.identity.app.display_name
        return [failed(name, f"app registration {what!r}", "not found in Entra ID",
                       "run `pulumi up` to create the app registration")]
    kind, key = env.principal
    obj = f"application user {key}" if kind == APPLICATION else f"user {key}"
    rows = env.dataverse.list("systemusers", select=_USER_FIELDS, filter=principal_filter(kind, key),
                              expand="systemuserroles_association($select=roleid,name,_roletemplateid_value)")
    if not rows:
        fix = ("run `pulumi up` (creates the application user)" if kind == APPLICATION
               else "license the user in Entra ID so it syncs to Dataverse, then run `pulumi up`")
        return [failed(f"{name}.exists", obj, "no systemuser in Dataverse", fix)]
    user = rows[0]
    results = [passed(f"{name}.exists", obj, f"systemuser {guid(user['systemuserid'])}")]
    if user.get("isdisabled"):
        results.append(failed(f"{name}.enabled", obj, "the systemuser is disabled",
                              "enable the user in the Power Platform admin center"))
    else:
        results.append(passed(f"{name}.enabled", obj, "enabled"))
    if user.get("accessmode") != ACCESS_MODE_NON_INTERACTIVE:
        results.append(failed(f"{name}.non-interactive", obj, f"access mode {user.get('accessmode')}, not 4 (non-interactive)",
                              "run `pulumi up --refresh` (sets access mode 4)"))
    else:
        results.append(passed(f"{name}.non-interactive", obj, "access mode 4"))
    unit = guid(user.get("_businessunitid_value"))
    if unit and unit != env.root_unit:
        results.append(failed(f"{name}.root-business-unit", obj,
                              f"sits in business unit {unit}, not the root one: it holds that unit's copies of the "
                              "roles, and Business Central checks the root roles' ids",
                              "move it to the root business unit in the Power Platform admin center (that removes "
                              "its roles), then `pulumi up --refresh`"))
    else:
        results.append(passed(f"{name}.root-business-unit", obj, "in the root business unit"))
    results += principal_role_results(obj, user.get("systemuserroles_association") or [], env.root_roles,
                                      env.declared)
    if kind == APPLICATION and env.settings.identity.user is not None:
        results += integration_user_results(env)
    return results


def principal_filter(kind: str, key: str) -> str:
    """An application user by its app id; a user the way BC finds it (by `internalemailaddress`, its
    TestIntegrationUserRequirements in CRMConnectionSetup.Table.al) or by its UPN (`domainname`)."""
    if kind == APPLICATION:
        return f"applicationid eq {key}"
    return f"domainname eq {odata_string(key)} or internalemailaddress eq {odata_string(key)}"


def integration_user_results(env: LiveEnvironment) -> list[CheckResult]:
    """Beside an app, the stack's integration user is set to non-interactive (it must not sign in)."""
    upn = env.settings.identity.user.user_principal_name.lower()
    rows = env.dataverse.list("systemusers", select=_USER_FIELDS, filter=principal_filter(USER, upn))
    name, obj = "integration user.non-interactive", f"user {upn}"
    if not rows:
        return [failed(name, obj, "no systemuser in Dataverse",
                       "license the user in Entra ID so it syncs to Dataverse, then run `pulumi up`")]
    if rows[0].get("accessmode") != ACCESS_MODE_NON_INTERACTIVE:
        return [failed(name, obj, f"access mode {rows[0].get('accessmode')}, not 4 (non-interactive)",
                       "run `pulumi up --refresh` (sets access mode 4)")]
    return [passed(name, obj, "access mode 4")]


def principal_role_results(obj: str, held: list[dict], root_roles: list[dict],
                           declared: dict | None = None) -> list[CheckResult]:
    """BC's role rules for its integration user: some role, not System Administrator, both integration roles."""
    name = "integration principal"
    results = []
    if not held:
        results.append(failed(f"{name}.has-role", obj, "holds no security role",
                              "assign Integration Administrator and Integration User in bcsi:roles, then `pulumi up`"))
    else:
        results.append(passed(f"{name}.has-role", obj, f"holds {len(held)} role(s)"))
    admin = [r for r in held if is_system_administrator(r)]
    if admin:
        results.append(failed(f"{name}.not-system-administrator", obj,
                              f"holds System Administrator (role {guid(admin[0]['roleid'])}, by template id)",
                              "remove System Administrator from the integration principal in Dataverse"))
    else:
        results.append(passed(f"{name}.not-system-administrator", obj, "does not hold System Administrator"))
    held_ids = {guid(r.get("roleid")) for r in held}
    for role_name in FIXED_ID_ROLES:
        rule = f"{name}.{role_name.lower().replace(' ', '-')}"
        role, how = role_named(root_roles, role_name, declared)
        if role is None:
            results.append(failed(rule, obj, f"role {role_name} not found in Dataverse ({how})",
                                  "import the integration solution (`pulumi up`)"))
        elif guid(role["roleid"]) not in held_ids:
            results.append(failed(rule, obj, f"does not hold {role_name} (role {guid(role['roleid'])}, {how})",
                                  f"list `integration` under {role_name} in bcsi:roles, then `pulumi up --refresh`"))
        else:
            results.append(passed(rule, obj, f"holds {role_name} ({how})"))
    return results


# ---------------------------------------------------------------------------------------------------------
# 2. Integration solution


def check_solution(env: LiveEnvironment) -> list[CheckResult]:
    name = "integration solution"
    package = read_package(env.project_dir / env.settings.solution.path)
    obj = f"solution {package.unique_name}"
    rows = env.dataverse.list("solutions", select=["solutionid", "uniquename", "version"],
                              filter=f"uniquename eq {odata_string(package.unique_name)}")
    jobs = env.dataverse.list("importjobs", select=["importjobid", "solutionname", "startedon", "completedon", "data"],
                              filter=f"solutionname eq {odata_string(package.unique_name)}")
    latest = max(jobs, key=lambda j: str(j.get("startedon") or ""), default=None)
    if latest is not None and 'result="failure"' in str(latest.get("data") or ""):
        return [failed(name, obj, f"the last import (job {guid(latest['importjobid'])}) failed",
                       "read the import job in the maker portal (Solutions > History), fix, then `pulumi up`")]
    if not rows:
        return [failed(name, obj, "not installed in Dataverse", "run `pulumi up` (imports the solution)")]
    installed = rows[0].get("version") or "0.0.0.0"
    if compare_versions(package.version, installed) > 0:
        return [failed(name, obj, f"version {installed} installed, the stack's package is {package.version}",
                       "run `pulumi up` (upgrades the solution)")]
    return [passed(name, obj, f"version {installed} installed (stack: {package.version})")]


# ---------------------------------------------------------------------------------------------------------
# 6. Licences


def check_licenses(env: LiveEnvironment) -> list[CheckResult]:
    name = "licence"
    integration_user = (env.settings.identity.user.user_principal_name.lower()
                        if env.settings.identity.user is not None else None)
    results = []
    for sku, entry in sorted(env.settings.licenses.items()):
        graph = LicenseReader(env.clients, sku)
        sku_id = graph.sku()["skuId"]
        direct, inherited = graph.holders(sku_id)
        holding = {u.lower() for u in (*direct, *inherited)}
        wanted = sorted({integration_user if u == INTEGRATION else u.lower() for u in entry.users} - {None})
        missing = [u for u in wanted if u not in holding]
        for user in missing:
            results.append(failed(name, f"{user} ({sku})", f"does not hold {sku} (directly or via a group)",
                                  "run `pulumi up --refresh` (assigns the licence)"))
        groups = graph.groups(entry.groups)
        unlicensed = [g for g, group in groups.items() if not graph.group_holds(group, sku_id)]
        for group_name in unlicensed:
            results.append(failed(name, f"group {group_name} ({sku})", f"the group has no {sku} licence",
                                  "run `pulumi up --refresh` (assigns the licence to the group)"))
        if not missing and not unlicensed:
            results.append(passed(name, sku, f"all {len(wanted)} user(s) and {len(groups)} group(s) hold it"))
        if integration_user and env.settings.identity.app is not None and integration_user in holding:
            results.append(warned(f"{name}.integration-user", f"{integration_user} ({sku})",
                                  "the integration user holds a licence it does not need (the app user runs the sync)",
                                  f"remove {sku} from the integration user (a wasted unit)"))
    return results


# ---------------------------------------------------------------------------------------------------------
# 7. Product Availability User


def check_availability(env: LiveEnvironment) -> list[CheckResult]:
    name = "product availability"
    role, how = role_named(env.root_roles, PRODUCT_AVAILABILITY_USER, env.declared)
    if role is None:
        if env.settings.roles.get(PRODUCT_AVAILABILITY_USER):
            return [failed(name, f"role {PRODUCT_AVAILABILITY_USER}", f"not found in Dataverse ({how})",
                           "import the integration solution (`pulumi up`)")]
        return [warned(name, f"role {PRODUCT_AVAILABILITY_USER}", f"not found in Dataverse ({how})",
                       "import the integration solution if salespeople look up item availability")]
    rows = holder_rows(env.dataverse, guid(role["roleid"]), fields=["isdisabled"])
    if not rows:
        return [warned(name, f"role {PRODUCT_AVAILABILITY_USER}", "nobody holds it: no one can look up item availability",
                       f"list salespeople under {PRODUCT_AVAILABILITY_USER} in bcsi:roles, then `pulumi up`")]
    disabled = [u for u in rows if u.get("isdisabled")]
    if disabled:
        return [failed(name, f"user {u.get('domainname') or u.get('applicationid')}",
                       f"holds {PRODUCT_AVAILABILITY_USER} but is disabled",
                       f"enable the user, or remove it from {PRODUCT_AVAILABILITY_USER} in bcsi:roles and `pulumi up`")
                for u in disabled]
    return [passed(name, f"role {PRODUCT_AVAILABILITY_USER}", f"{len(rows)} holder(s), all enabled ({how})")]


# ---------------------------------------------------------------------------------------------------------
# 8. App registration


def credential_results(obj: str, app: dict, federated: list[dict], now: dt.datetime, window_days: int) -> list[CheckResult]:
    """BC signs in to Dataverse with the app's secret or certificate: fail when none is valid now, warn when the last
    valid one ends within the window. Federated credentials are for pipelines: they do not count."""
    name = "app credential"
    credentials = list(app.get("passwordCredentials") or []) + list(app.get("keyCredentials") or [])
    expiry = credential_expiry(credentials, now, window_days)
    if expiry.state == NONE:
        only = f" (only {len(federated)} federated credential(s): those let pipelines in)" if federated else ""
        return [failed(name, obj, f"no client secret or certificate: Business Central cannot sign in to Dataverse{only}",
                       "add a certificate or a client secret to the app (bcsi:identity.app.credential) and enter it "
                       "in BC's Dataverse Connection Setup")]
    if expiry.state == NO_END:
        return [passed(name, obj, "a credential without an end date")]
    if expiry.state == EXPIRED:
        return [failed(name, obj, f"every credential has expired (the last on {expiry.date})",
                       "add a new credential (identity mode manage: `pulumi up` rotates it) and update BC's connection setup")]
    if expiry.state == EXPIRING:
        return [warned(name, obj, f"the last valid credential expires on {expiry.date} (within {window_days} days)",
                       "rotate the credential and update BC's connection setup before it expires")]
    return [passed(name, obj, f"valid until {expiry.date}")]


def check_app(env: LiveEnvironment, window_days: int) -> list[CheckResult]:
    app_settings = env.settings.identity.app
    if app_settings is None:
        return []
    what = app_settings.app_id or app_settings.display_name
    obj = f"app registration {what}"
    app = env.app
    if app is None:
        return [failed("app registration", obj, "not found in Entra ID",
                       "run `pulumi up`" if env.settings.identity.mode == "manage" else "check bcsi:identity.app.appId")]
    graph = env.clients.graph
    federated = graph.list(f"/applications/{app['id']}/federatedIdentityCredentials")
    results = credential_results(obj, app, federated, env.now, window_days)
    managed = env.settings.identity.mode == "manage"
    sp = graph.list("/servicePrincipals", params={"$filter": f"appId eq {odata_string(app['appId'])}", "$select": "id,appId"})
    crm = graph.list("/servicePrincipals", params={"$filter": f"appId eq {odata_string(DYNAMICS_CRM_APP_ID)}",
                                                   "$select": "id,appId"})
    scope = DYNAMICS_CRM_USER_IMPERSONATION_SCOPE
    grants = []
    if sp and crm:
        grants = graph.list("/oauth2PermissionGrants", params={"$filter": f"clientId eq {odata_string(sp[0]['id'])}"})
    consented = [g for g in grants if g.get("resourceId") == crm[0]["id"] and g.get("consentType") == "AllPrincipals"
                 and scope in str(g.get("scope") or "").split()] if crm else []
    if consented:
        results.append(passed("app consent", obj, f"admin consent for Dataverse ({scope})"))
    else:
        detail = ("no service principal" if not sp else f"no admin consent for Dataverse ({scope})")
        fix = ("run `pulumi up` (grants admin consent)" if managed
               else f"grant admin consent for Dynamics CRM {scope} to the app in Entra ID")
        results.append((failed if managed else warned)("app consent", obj, detail, fix))
    return results


# ---------------------------------------------------------------------------------------------------------
# Running them


def rules(settings, window_days: int):
    """(rule name, function) for the rules that apply to these settings, in BC's own order."""
    chosen = [("integration principal", check_principal), ("integration solution", check_solution)]
    if settings.business_central is not None:
        chosen.append((BC_ACCESS, check_bc_access))
        chosen.append(("currency", check_currency))
        if settings.salespersons:
            chosen.append(("salesperson coupling", check_salespersons))
    if settings.licenses:
        chosen.append(("licence", check_licenses))
    chosen.append(("product availability", check_availability))
    if settings.identity.app is not None:
        chosen.append(("app credential", lambda env: check_app(env, window_days)))
    return chosen


NEEDS_BC_ACCESS = ("currency", "salesperson coupling")


def run_checks(env: LiveEnvironment, window_days: int = DEFAULT_CREDENTIAL_WINDOW_DAYS) -> list[CheckResult]:
    """Every rule; a rule whose reads fail is one failure naming the error, the others still run."""
    results: list[CheckResult] = []
    for name, rule in rules(env.settings, window_days):
        if name in NEEDS_BC_ACCESS and any(r.name == BC_ACCESS and r.result == FAIL for r in results):
            continue   # the access failure already says why, and how to fix it
        try:
            results += rule(env)
        except READ_ERRORS as error:
            results.append(failed(name, "(could not read)", str(error).splitlines()[0],
                                  "fix the access or the setting named, then run `bcsi check` again"))
    return results


def report(stack: str, results: list[CheckResult]) -> dict:
    """The json shape README.md shows under *Checking a live environment*."""
    return {"stack": stack, "checks": [r.as_json() for r in results]}
