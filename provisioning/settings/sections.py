"""The section rules: what each `bcsi:` key may hold and what it becomes, and the rules that tie keys together.

`parse` walks the values once and records every problem before raising, so one run reports them all.
Single values are checked by the checkers in `checks`; this module knows the shape of each section.
"""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from mscloud.cloud import offers_business_central
from provisioning.settings.checks import (
    ALLOWED_UPN, BOOLEAN, COUNTRY, DOMAIN, GUID, PLAN, ROLE_NAME, SKU, UPN, Checker, Choice, Text, WholeNumber,
    https_url, is_upn, user_principal_name,
)
from provisioning.settings.model import (
    CLOUDS, CREDENTIAL_KINDS, DEFAULT_SECRET_EXPIRY_DAYS, ENVIRONMENT_KINDS, IDENTITY_MODES, MAX_CREDENTIAL_DAYS,
    NAMESPACE, SALESPERSON_CODE_MAX, TOP_LEVEL_KEYS, AppSettings, BusinessCentralSettings,
    FederatedCredentialSettings, IdentitySettings, LicenseSettings, PolicySettings, Secret, Settings,
    SolutionSettings, UserSettings,
)
from provisioning.settings.principals import (
    ALLOWED_PRINCIPAL, INTEGRATION, INTEGRATION_ROLES, PRINCIPAL, integration_principal_of,
)
from provisioning.settings.problems import Problems, SettingsError, child, is_secure, segment, show
from provisioning.settings.walker import Walker


def parse(config: Mapping[str, Any], source: str, project_dir: str | Path | None = None) -> Settings:
    """Validate the `bcsi:` keys of a stack's config (keys with or without the `bcsi:` prefix).

    Keys of other namespaces (`azuread:`, `pulumi:`, ...) are left alone. With `project_dir`, files the
    settings name (solution package, certificate) must exist relative to it.
    """
    problems = Problems(source)
    if not isinstance(config, Mapping):
        raise SettingsError([f"{source}: config: {show(config)} is not a map (allowed: a map of 'namespace:key' to values)"])
    values: dict[str, Any] = {}
    for raw_key, value in config.items():
        key = str(raw_key)
        if ":" in key:
            namespace, _, name = key.partition(":")
            if namespace != NAMESPACE:
                continue
        else:
            name = key
        if name not in TOP_LEVEL_KEYS:
            problems.add(f"{NAMESPACE}:{segment(name)}", "unknown key", ", ".join(f"{NAMESPACE}:{k}" for k in TOP_LEVEL_KEYS))
            continue
        values[name] = value
    project = Path(project_dir) if project_dir is not None else None
    settings = _Validator(problems, values, project).settings()
    if problems.lines:
        raise SettingsError(problems.lines)
    assert settings is not None
    return settings


CLOUD = Choice(CLOUDS)
IDENTITY_MODE = Choice(IDENTITY_MODES)
CREDENTIAL_KIND = Choice(CREDENTIAL_KINDS)
ENVIRONMENT_KIND = Choice(ENVIRONMENT_KINDS)
DATAVERSE_URL = https_url("the environment's https URL like https://contoso.crm.dynamics.com")
CREDENTIAL_DAYS = WholeNumber(1, MAX_CREDENTIAL_DAYS)


class _LicenseUser(Checker):
    """A licence user: a UPN, or `integration` for the integration user (which needs bcsi:identity.user)."""

    name = "a valid user principal name"
    allowed = f"{ALLOWED_UPN}, or '{INTEGRATION}' for the integration user"

    def __init__(self, integration_user: str | None, identity_ok: bool):
        self.integration_user = integration_user
        self.identity_ok = identity_ok

    def convert(self, value: Any) -> str:
        if value == INTEGRATION:
            if self.integration_user is None and self.identity_ok:
                self.fail(f"'{INTEGRATION}' needs bcsi:identity.user", f"{ALLOWED_UPN}, or add an integration user")
            return self.integration_user or INTEGRATION
        if not is_upn(value):
            self.refuse(value)
        return value


class _Validator(Walker):
    """Walks the `bcsi:` values once, recording every problem; builds Settings when there are none."""

    def settings(self) -> Settings | None:
        cloud = self.cloud()
        tenant_id = self.tenant_id(cloud)
        dataverse_url = self.dataverse_url(cloud)
        business_central = self.business_central(cloud)
        identity = self.identity()
        policy = self.policy()
        additional_roles = self.additional_roles()
        integration_user = identity.user.user_principal_name if identity and identity.user else None
        licenses = self.licenses(integration_user, identity is not None)
        roles = self.roles(additional_roles, identity)
        salespersons = self.salespersons()
        solution = self.solution()
        self.cross_checks(identity, policy, licenses)
        if self.p.lines or cloud is None or identity is None:
            return None
        return Settings(
            source=self.p.source, cloud=cloud, identity=identity, tenant_id=tenant_id,
            dataverse_url=dataverse_url, business_central=business_central,
            licenses=MappingProxyType(licenses or {}), roles=MappingProxyType(roles or {}),
            additional_roles=additional_roles or (), salespersons=MappingProxyType(salespersons or {}),
            solution=solution, policy=policy or PolicySettings(),
        )

    def cloud(self) -> str | None:
        if "cloud" not in self.values:
            self.p.add(self.key("cloud"), "is missing", CLOUD.allowed)
            return None
        return self.check(self.key("cloud"), self.values["cloud"], CLOUD)

    def tenant_id(self, cloud: str | None) -> str | None:
        return self.cloud_endpoint("tenantId", cloud, GUID)

    def dataverse_url(self, cloud: str | None) -> str | None:
        return self.cloud_endpoint("dataverseUrl", cloud, DATAVERSE_URL)

    def cloud_endpoint(self, name: str, cloud: str | None, checker: Checker) -> str | None:
        """A key every real cloud needs and the sandbox's endpoints.json provides."""
        key = self.key(name)
        if name not in self.values:
            if cloud not in (None, "sandbox"):
                self.p.add(key, "is missing (needed for a real cloud)", checker.allowed)
            return None
        return self.check(key, self.values[name], checker)

    def business_central(self, cloud: str | None) -> BusinessCentralSettings | None:
        key = self.key("businessCentral")
        if "businessCentral" not in self.values:
            return None
        if cloud is not None and not offers_business_central(cloud):
            self.p.add(key, f"Business Central is not offered in cloud {cloud}",
                       "leave bcsi:businessCentral out, or cloud public")
            return None
        section = self.mapping(key, self.values["businessCentral"], "a map with environment and company",
                               ("environment", "company"))
        if section is None:
            return None
        environment = self.required(key, section, "environment",
                                    Text("the Business Central environment name, like Production"))
        company = None
        if section.get("company") is not None:
            company = self.check(f"{key}.company", section["company"], Text("the company name, like CRONUS USA, Inc."))
        if environment is None:
            return None
        return BusinessCentralSettings(environment=environment, company=company)

    def identity(self) -> IdentitySettings | None:
        key = self.key("identity")
        section = self.required_section("identity", "a map with mode (manage | existing) and user and/or app",
                                        ("mode", "user", "app"))
        if section is None:
            return None
        mode = self.required(key, section, "mode", IDENTITY_MODE)
        if mode is None:
            return None
        if section.get("user") is None and section.get("app") is None:
            self.p.add(key, "has neither user nor app", "a user (the integration user), an app, or both")
            return None
        user = self.identity_user(f"{key}.user", section["user"], mode) if section.get("user") is not None else None
        app = self.identity_app(f"{key}.app", section["app"], mode) if section.get("app") is not None else None
        if (section.get("user") is not None and user is None) or (section.get("app") is not None and app is None):
            return None
        return IdentitySettings(mode=mode, user=user, app=app)

    def identity_user(self, key: str, value: Any, mode: str) -> UserSettings | None:
        fields = ("userPrincipalName", "displayName", "usageLocation") if mode == "manage" else ("userPrincipalName",)
        section = self.mapping(key, value, f"a map with {', '.join(fields)}", fields)
        if section is None:
            return None
        upn = self.required(key, section, "userPrincipalName", UPN)
        if mode == "existing":
            return UserSettings(user_principal_name=upn) if upn else None
        display_name = self.required(key, section, "displayName", Text("the display name, like BC Sales integration", 256))
        location = self.required(key, section, "usageLocation", COUNTRY)
        if not (upn and display_name and location):
            return None
        return UserSettings(user_principal_name=upn, display_name=display_name, usage_location=location)

    def identity_app(self, key: str, value: Any, mode: str) -> AppSettings | None:
        if mode == "existing":
            return self.existing_app(key, value)
        fields = ("displayName", "credential", "secretExpiryDays", "certificatePath", "federated")
        section = self.mapping(key, value, f"a map with {', '.join(fields)}", fields + ("appId", "clientSecret"))
        if section is None:
            return None
        self.not_here(key, section, ("appId", "clientSecret"), "in mode manage (the stack creates the app and its credential)")
        display_name = self.required(key, section, "displayName", Text("the app registration's display name", 120))
        credential = self.credential(key, section)
        expiry = certificate = federated = None
        ok = display_name is not None and credential is not None
        if credential == "secret":
            self.not_here(key, section, ("certificatePath",), "with credential secret")
            if "secretExpiryDays" in section:
                expiry = self.check(f"{key}.secretExpiryDays", section["secretExpiryDays"], CREDENTIAL_DAYS)
                ok = ok and expiry is not None
            else:
                expiry = DEFAULT_SECRET_EXPIRY_DAYS
        elif credential == "certificate":
            self.not_here(key, section, ("secretExpiryDays",), "with credential certificate")
            path = Text("a PEM certificate file (.pem, .crt, .cer) relative to the project directory")
            certificate = self.required(key, section, "certificatePath", path)
            if certificate is not None:
                self.existing_file(f"{key}.certificatePath", certificate, path.allowed)
            ok = ok and certificate is not None
        if section.get("federated") is not None:   # the pipeline signs in as this app too
            federated = self.federated(f"{key}.federated", section["federated"])
            ok = ok and federated is not None
        if not ok:
            return None
        return AppSettings(display_name=display_name, credential=credential, secret_expiry_days=expiry,
                           certificate_path=certificate, federated=federated)

    def credential(self, key: str, section: dict) -> str | None:
        """BC's credential; `federated` alone is refused with what to do instead."""
        if section.get("credential") == "federated":
            self.p.add(f"{key}.credential", "'federated' gives Business Central nothing to sign in to Dataverse "
                       "with (a federated credential is for pipelines)",
                       "secret | certificate, and federated: {issuer, subject} beside it if the pipeline signs in "
                       "as this app")
            return None
        return self.required(key, section, "credential", CREDENTIAL_KIND)

    def existing_app(self, key: str, value: Any) -> AppSettings | None:
        fields = ("appId", "clientSecret")
        section = self.mapping(key, value, "a map with appId (and optionally clientSecret)", fields)
        if section is None:
            return None
        app_id = self.required(key, section, "appId", GUID)
        secret = None
        if section.get("clientSecret") is not None:
            secret = self.secret(f"{key}.clientSecret", section["clientSecret"])
        return AppSettings(app_id=app_id, client_secret=secret) if app_id else None

    def secret(self, key: str, value: Any) -> Secret | None:
        """The one place a secure value is accepted (so not a checker: those refuse secure values)."""
        allowed = "a secure value set with `pulumi config set --secret --path`"
        if is_secure(value):
            return Secret(value=value["secure"], encrypted=True)
        if isinstance(value, str) and value:
            return Secret(value=value, encrypted=False)
        # never show the value: it may be a secret typed in the wrong shape
        self.p.add(key, "is not a secret text", allowed)
        return None

    def federated(self, key: str, value: Any) -> FederatedCredentialSettings | None:
        allowed = "a map with issuer (https URL) and subject"
        section = self.mapping(key, value, allowed, ("issuer", "subject"))
        if section is None:
            return None
        issuer = self.required(key, section, "issuer",
                               https_url("the token issuer's https URL, like https://token.actions.githubusercontent.com"))
        subject = self.required(key, section, "subject",
                                Text("the token subject, like repo:contoso/bc-sales:environment:prod", 600))
        if issuer is None or subject is None:
            return None
        return FederatedCredentialSettings(issuer=issuer, subject=subject)

    def licenses(self, integration_user: str | None, identity_ok: bool) -> dict[str, LicenseSettings] | None:
        key = self.key("licenses")
        if "licenses" not in self.values:
            return {}
        section = self.mapping(key, self.values["licenses"],
                               "a map of SKU part number to {users, groups, disabledPlans, usageLocation}")
        if section is None:
            return None
        result: dict[str, LicenseSettings] = {}
        for sku, entry in section.items():
            sku_key = child(key, sku)
            if self.check(sku_key, sku, SKU) is None:
                continue
            body = self.mapping(sku_key, entry, "a map with users, groups, disabledPlans and usageLocation",
                                ("users", "groups", "disabledPlans", "usageLocation"))
            if body is None:
                continue
            users = self.member_list(f"{sku_key}.users", body.get("users"), _LicenseUser(integration_user, identity_ok),
                                     f"a list of UPNs (or '{INTEGRATION}' for the integration user)")
            groups = self.unique_list(f"{sku_key}.groups", body.get("groups"),
                                      Text("a group display name, like Sales team", 256), "a list of group display names")
            plans = self.unique_list(f"{sku_key}.disabledPlans", body.get("disabledPlans"), PLAN,
                                     "a list of service plan names, like DYN365_CDS_DYN_APPS")
            location = body.get("usageLocation")
            if location is not None:
                location = self.check(f"{sku_key}.usageLocation", location, COUNTRY)
                if location is None:
                    continue
            if users is not None and groups is not None and plans is not None:
                result[sku] = LicenseSettings(sku=sku, users=users, groups=groups, disabled_plans=plans,
                                              usage_location=location)
        return result

    def additional_roles(self) -> tuple[str, ...] | None:
        if "additionalRoles" not in self.values:
            return ()
        return self.unique_list(self.key("additionalRoles"), self.values["additionalRoles"], ROLE_NAME,
                                "a list of Dataverse security role names")

    def roles(self, additional: tuple[str, ...] | None, identity: IdentitySettings | None) -> dict[str, tuple[str, ...]] | None:
        key = self.key("roles")
        if "roles" not in self.values:
            return {}
        section = self.mapping(key, self.values["roles"], "a map of Dataverse role name to a list of principals")
        if section is None:
            return None
        known = list(INTEGRATION_ROLES) + list(additional or ())
        role_allowed = ", ".join(known) + " (other roles: list them in bcsi:additionalRoles)"
        integration = integration_principal_of(identity) if identity else None
        result: dict[str, tuple[str, ...]] = {}
        for role, members in section.items():
            role_key = child(key, role)
            if not isinstance(role, str) or role not in known:
                self.p.add(role_key, f"{show(role)} is not an integration role", role_allowed)
                continue
            principals = self.member_list(role_key, members, PRINCIPAL, f"a list of principals: {ALLOWED_PRINCIPAL}")
            if principals is None:
                continue
            if integration and INTEGRATION in principals and integration.lower() in {m.lower() for m in principals}:
                self.p.add(role_key, f"'{INTEGRATION}' and {show(integration)} name the same principal", "each principal once")
                continue
            result[role] = principals
        return result

    def salespersons(self) -> dict[str, str] | None:
        key = self.key("salespersons")
        if "salespersons" not in self.values:
            return {}
        section = self.mapping(key, self.values["salespersons"], "a map of BC salesperson code to Sales user UPN")
        if section is None:
            return None
        code_allowed = f"a salesperson code of 1 to {SALESPERSON_CODE_MAX} characters, quoted if it looks like a number"
        coupled_user = user_principal_name(f"{ALLOWED_UPN} (the Sales user the salesperson is coupled to)")
        result: dict[str, str] = {}
        codes: dict[str, str] = {}
        users: dict[str, str] = {}
        for code, user in section.items():
            code_key = child(key, code)
            if not isinstance(code, str) or not code.strip() or code != code.strip() or len(code) > SALESPERSON_CODE_MAX:
                self.p.add(code_key, f"{show(code)} is not a salesperson code", code_allowed)
                continue
            upn = self.check(code_key, user, coupled_user)
            if upn is None:
                continue
            folded_code = code.upper()  # BC stores Code fields in upper case
            if folded_code in codes:
                self.p.add(code_key, f"is the same code as {show(codes[folded_code])} (Business Central upper-cases codes)", "each code once")
                continue
            if upn.lower() in users:
                self.p.add(code_key, f"{show(upn)} is already coupled to {show(users[upn.lower()])}", "one salesperson per Sales user")
                continue
            codes[folded_code] = code
            users[upn.lower()] = code
            result[folded_code] = upn
        return result

    def solution(self) -> SolutionSettings | None:
        key = self.key("solution")
        section = self.required_section(
            "solution", "a map with path (a .zip relative to the project) and uninstallOnDelete", ("path", "uninstallOnDelete"))
        if section is None:
            return None
        package = Text("a solution package .zip relative to the project directory, like solutions/BcSalesIntegration.zip")
        path = self.required(key, section, "path", package)
        if path is not None and not path.lower().endswith(".zip"):
            self.p.add(f"{key}.path", f"{show(path)} is not a .zip file", package.allowed)
            path = None
        if path is not None:
            self.existing_file(f"{key}.path", path, package.allowed)
        uninstall = False
        if "uninstallOnDelete" in section:
            uninstall = self.check(f"{key}.uninstallOnDelete", section["uninstallOnDelete"], BOOLEAN)
        if path is None or uninstall is None:
            return None
        return SolutionSettings(path=path, uninstall_on_delete=uninstall)

    def policy(self) -> PolicySettings | None:
        key = self.key("policy")
        if "policy" not in self.values:
            return PolicySettings()
        fields = ("maxCredentialDays", "allowedSkus", "environmentKind", "maxShrinkPercent", "verifiedDomains",
                  "forbiddenRoles")
        section = self.mapping(key, self.values["policy"], f"a map with {', '.join(fields)}", fields)
        if section is None:
            return None
        shrink = domains = forbidden = None
        if "maxShrinkPercent" in section:
            shrink = self.check(f"{key}.maxShrinkPercent", section["maxShrinkPercent"], WholeNumber(0, 100))
        if "verifiedDomains" in section:
            domains = self.unique_list(f"{key}.verifiedDomains", section["verifiedDomains"], DOMAIN,
                                       "a list of verified domain names, like contoso.com")
        if "forbiddenRoles" in section:
            forbidden = self.unique_list(f"{key}.forbiddenRoles", section["forbiddenRoles"], ROLE_NAME,
                                         "a list of Dataverse security role names")
        max_days = None
        if "maxCredentialDays" in section:
            max_days = self.check(f"{key}.maxCredentialDays", section["maxCredentialDays"], CREDENTIAL_DAYS)
        skus = None
        if "allowedSkus" in section:
            skus = self.unique_list(f"{key}.allowedSkus", section["allowedSkus"], SKU, "a list of SKU part numbers")
        kind = None
        if "environmentKind" in section:
            kind = self.check(f"{key}.environmentKind", section["environmentKind"], ENVIRONMENT_KIND)
        return PolicySettings(max_credential_days=max_days, allowed_skus=skus, environment_kind=kind,
                              max_shrink_percent=shrink, verified_domains=domains, forbidden_roles=forbidden)

    def cross_checks(self, identity: IdentitySettings | None, policy: PolicySettings | None,
                     licenses: dict[str, LicenseSettings] | None) -> None:
        """Rules that tie sections together (the policy pack checks the resources again at preview)."""
        if identity and identity.app and policy and policy.max_credential_days and identity.app.secret_expiry_days:
            if identity.app.secret_expiry_days > policy.max_credential_days:
                self.p.add(self.key("identity") + ".app.secretExpiryDays",
                           f"{identity.app.secret_expiry_days} is more than bcsi:policy.maxCredentialDays",
                           f"1..{policy.max_credential_days}")
        if licenses and policy and policy.allowed_skus is not None:
            for sku in licenses:
                if sku not in policy.allowed_skus:
                    self.p.add(child(self.key("licenses"), sku), "is not in bcsi:policy.allowedSkus",
                               ", ".join(policy.allowed_skus) or "none")
