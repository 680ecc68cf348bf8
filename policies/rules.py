"""The rules, as plain functions: (resource type, props, config) -> violation messages.

They know nothing of CrossGuard, so they are unit-tested in milliseconds; `policies/__main__.py` wires
them into the pack. `config` is the dict `policies.config.effective` returns. A rule that cannot judge
a resource with the inputs it has raises `NotApplicable` with the reason.
"""
from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from mscloud.wellknown import (DELEGATE_TEMPLATE, ENTRA_DEFAULT_SECRET_DAYS, INTEGRATION, INTEGRATION_ADMINISTRATOR,
                                PRODUCT_AVAILABILITY_USER, SYSTEM_ADMINISTRATOR_TEMPLATE, SYSTEM_CUSTOMIZER_TEMPLATE,
                                USER, principal_kind)
from solution_import.role_lookup import role_lookup

try:
    from pulumi_policy.proxy import UnknownValueError
except ImportError:  # the rules themselves need no CrossGuard
    class UnknownValueError(Exception):
        pass

ROLE_ASSIGNMENT = "pulumi-python:dynamic/bcsi:RoleAssignment"
LICENSE_ASSIGNMENT = "pulumi-python:dynamic/bcsi:LicenseAssignment"
INTEGRATION_USER_ACCESS = "pulumi-python:dynamic/bcsi:IntegrationUserAccess"
CREDENTIAL_WINDOW = "pulumi-python:dynamic/bcsi:CredentialWindow"
APPLICATION_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
SERVICE_PRINCIPAL_PASSWORD = "azuread:index/servicePrincipalPassword:ServicePrincipalPassword"
APPLICATION_CERTIFICATE = "azuread:index/applicationCertificate:ApplicationCertificate"
SERVICE_PRINCIPAL_CERTIFICATE = "azuread:index/servicePrincipalCertificate:ServicePrincipalCertificate"
FEDERATED_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
AZUREAD_USER = "azuread:index/user:User"

PASSWORDS = (APPLICATION_PASSWORD, SERVICE_PRINCIPAL_PASSWORD)
CERTIFICATES = (APPLICATION_CERTIFICATE, SERVICE_PRINCIPAL_CERTIFICATE)

# The built-in admin roles by role template id.
ADMIN_ROLE_TEMPLATES = {
    SYSTEM_ADMINISTRATOR_TEMPLATE: "System Administrator",
    SYSTEM_CUSTOMIZER_TEMPLATE: "System Customizer",
    DELEGATE_TEMPLATE: "Delegate",
}


class NotApplicable(Exception):
    """The rule cannot judge this resource (an input it needs is absent); the reason says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- reading props ---------------------------------------------------------------------------------

def _guid(value: Any) -> str:
    return str(value or "").strip().strip("{}").lower()


def principal_key(entry: Any) -> tuple[str, str]:
    """(type, key) of a principal given as `{"type", "key"}` or as a plain UPN / app id string."""
    if isinstance(entry, Mapping):
        key = str(entry.get("key") or "").strip()
        kind = str(entry.get("type") or principal_kind(key))
    else:
        key = str(entry or "").strip()
        kind = principal_kind(key)
    return kind, key


_PENDING = object()


def _known(read, default=None):
    """A value that may still be unknown during preview (e.g. an app id not created yet): None then."""
    try:
        return read()
    except UnknownValueError:
        return default


def integration_key(props: Mapping[str, Any]) -> str | None:
    """The integration principal's key: "" when none is set, None while it is unknown (first preview)."""
    return _known(lambda: principal_key(props.get("integrationPrincipal"))[1].lower()
                  if props.get("integrationPrincipal") else "")


def role_principals(props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The role's principals, the word `integration` replaced by the integration principal once it is known."""
    integration = integration_key(props)
    result = []
    for entry in props.get("principals") or ():
        kind, key = principal_key(entry)
        if key.lower() == INTEGRATION and integration:
            kind, key = principal_key(props.get("integrationPrincipal"))
        result.append((kind, key))
    return result


def _describe(kind: str, key: str) -> str:
    return f"{'user' if kind == USER else 'application'} '{key}'"


# --- mandatory rules -------------------------------------------------------------------------------

def integration_admin_only_for_integration_principal(resource_type: str, props: Mapping[str, Any],
                                                     config: Mapping[str, Any]) -> list[str]:
    """Integration Administrator lets its holder reconfigure the sync: only the sync account may hold it."""
    if resource_type != ROLE_ASSIGNMENT:
        return []
    is_admin_role = (role_lookup(str(props.get("roleName") or "")).name == INTEGRATION_ADMINISTRATOR
                     or _guid(props.get("roleId")) in role_lookup(INTEGRATION_ADMINISTRATOR).ids)
    if not is_admin_role:
        return []
    integration = integration_key(props)
    others = [(kind, key) for kind, key in role_principals(props) if key.lower() not in (INTEGRATION, integration)]
    if others and integration is None:
        principal_key(props.get("integrationPrincipal"))  # raises UnknownValueError: CrossGuard says "can't judge yet"
    allowed = f"the integration principal '{integration}'" if integration else "the integration principal (none set)"
    return [f"role 'Integration Administrator' is given to {_describe(kind, key)}: only {allowed} may hold it"
            for kind, key in others]


def no_builtin_admin_roles(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """System Administrator and friends are never handed out by this toolkit (BC itself refuses the first)."""
    if resource_type != ROLE_ASSIGNMENT:
        return []
    name = str(props.get("roleName") or "").strip()
    forbidden = {r.casefold() for r in config.get("forbiddenRoles") or ()}
    matched = None
    if name.casefold() in forbidden:
        matched = f"role '{name}'"
    for field in ("roleTemplateId", "roleId"):
        template = ADMIN_ROLE_TEMPLATES.get(_guid(props.get(field)))
        if template and not matched:
            matched = f"role '{name or template}' ({field} {_guid(props.get(field))} is {template})"
    if not matched:
        return []
    return [f"{matched} is a built-in admin role and may not be handed out: given to {_describe(kind, key)}"
            for kind, key in role_principals(props)]


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration(text: str) -> timedelta:
    """`endDateRelative` is a Go duration (`240h`, `2400h30m`)."""
    text = text.strip()
    if not text or _DURATION_PART.sub("", text):
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(seconds=sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text)))


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _certificate_not_after(props: Mapping[str, Any]) -> datetime | None:
    """The expiry inside the certificate itself (azuread's default end date), when it can be read."""
    from cryptography import x509

    value, encoding = props.get("value"), str(props.get("encoding") or "pem").lower()
    if not isinstance(value, str):
        return None
    try:
        if encoding == "pem":
            cert = x509.load_pem_x509_certificate(value.encode())
        elif encoding == "hex":
            cert = x509.load_der_x509_certificate(bytes.fromhex(value))
        else:
            cert = x509.load_der_x509_certificate(base64.b64decode(value))
    except ValueError:
        return None
    return cert.not_valid_after_utc


def _owner(props: Mapping[str, Any]) -> str:
    for field, what in (("applicationId", "application"), ("servicePrincipalId", "service principal")):
        value = _known(lambda: props.get(field), default="(not created yet)")
        if value:
            return f"{what} '{value}'"
    return "its application"


def credential_max_lifetime(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any],
                            now: datetime | None = None) -> list[str]:
    """Long-lived app credentials are the usual way in after a leak: cap their lifetime."""
    limit = int(config.get("maxCredentialDays") or 0)
    if resource_type == CREDENTIAL_WINDOW:  # the program's secret validity window: its `days` is known at preview
        days = _known(lambda: props.get("days"))
        if days is None or float(days) <= limit:
            return []
        return [f"client secret validity window of {float(days):.0f} days: the maximum is {limit} days"]
    if resource_type not in PASSWORDS + CERTIFICATES:
        return []
    dates = {field: _known(lambda: props.get(field), _PENDING) for field in ("startDate", "endDate", "endDateRelative")}
    if _PENDING in dates.values():
        raise NotApplicable("the end date is computed by another resource and known only at `up`: checked then "
                            "(a CredentialWindow's days are checked now)")
    what = "client secret" if resource_type in PASSWORDS else "certificate"
    start = _timestamp(dates["startDate"]) if dates["startDate"] else (now or datetime.now(timezone.utc))
    if dates["endDate"]:
        days = (_timestamp(dates["endDate"]) - start).total_seconds() / 86400
        how = f"endDate {dates['endDate']}"
    elif dates["endDateRelative"]:
        days = go_duration(str(dates["endDateRelative"])).total_seconds() / 86400
        how = f"endDateRelative {dates['endDateRelative']}"
    elif resource_type in PASSWORDS:
        days, how = ENTRA_DEFAULT_SECRET_DAYS, "no end date (Entra ID default: 2 years)"
    else:
        not_after = _certificate_not_after(props)
        if not_after is None:
            raise NotApplicable("certificate without endDate whose value cannot be read: lifetime not checked")
        days, how = (not_after - start).total_seconds() / 86400, f"the certificate's own expiry {not_after:%Y-%m-%d}"
    if days <= limit:
        return []
    return [f"{what} for {_owner(props)} is valid for {days:.0f} days ({how}): the maximum is {limit} days"]


def prod_no_client_secrets(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """A secret can be copied; in prod BC signs in with a certificate (the pipeline with workload identity federation)."""
    if resource_type not in PASSWORDS + (CREDENTIAL_WINDOW,) or config.get("environmentKind") != "prod":
        return []
    return [f"client secret for {_owner(props)} in a prod stack: use a certificate instead (credential: certificate)"]


def _license_principals(props: Mapping[str, Any]) -> list[str]:
    return [f"user '{u}'" for u in props.get("users") or ()] + [f"group '{g}'" for g in props.get("groups") or ()]


def license_sku_allow_list(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Only the licences the integration needs; anything else is a cost or a privilege nobody reviewed."""
    if resource_type != LICENSE_ASSIGNMENT:
        return []
    sku = str(props.get("skuPartNumber") or "")
    allowed = tuple(config.get("allowedSkus") or ())
    if sku.casefold() in {s.casefold() for s in allowed}:
        return []
    return [f"licence SKU '{sku}' is not on the allow-list ({', '.join(allowed) or 'empty'}): assigned to {who}"
            for who in _license_principals(props)]


def _units(value: Any) -> int | None:
    if isinstance(value, Mapping):   # licenseUnitsDetail: units in their grace period (warning) are still assignable
        enabled = value.get("enabled")
        return None if enabled is None else int(enabled) + int(value.get("warning") or 0)
    return None if value is None or isinstance(value, bool) else int(value)


def license_units_not_exceeded(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Graph fails the assignment half-way when units run out: stop it at preview instead."""
    if resource_type != LICENSE_ASSIGNMENT:
        return []
    available = _known(lambda: _units(props.get("availableUnits")))
    source = "availableUnits: free units plus those its own users hold"
    if available is None:
        available, source = _known(lambda: _units(props.get("prepaidUnits"))), "prepaidUnits"
    if available is None:
        raise NotApplicable("the LicenseAssignment carries no availableUnits/prepaidUnits input (its provider could "
                            "not read the tenant's subscribedSkus at preview): units not checked")
    users = sorted(str(u) for u in props.get("users") or ())
    if len(users) <= available:
        return []
    shown = ", ".join(f"'{u}'" for u in users[:10]) + (", …" if len(users) > 10 else "")
    return [f"licence SKU '{props.get('skuPartNumber')}' is assigned to {len(users)} users ({shown}) but only "
            f"{available} units are available ({source}); groups not counted"]


def user_principal_names(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every UPN a resource hands something to or creates."""
    if resource_type == ROLE_ASSIGNMENT:
        return [key for kind, key in role_principals(props)
                if (kind == USER or "@" in key) and key.lower() != INTEGRATION]  # unresolved: not a UPN
    if resource_type == LICENSE_ASSIGNMENT:
        return [str(u) for u in props.get("users") or ()]
    if resource_type in (AZUREAD_USER, INTEGRATION_USER_ACCESS):
        return [str(props["userPrincipalName"])] if props.get("userPrincipalName") else []
    return []


def principals_in_verified_domains(resource_type: str, props: Mapping[str, Any],
                                   config: Mapping[str, Any]) -> list[str]:
    """A UPN outside the tenant's domains is a typo or a guest: neither should get Sales access by accident."""
    upns = user_principal_names(resource_type, props)
    if not upns:
        return []
    domains = tuple(config.get("verifiedDomains") or ())
    if not domains:
        raise NotApplicable("no verifiedDomains in the pack config or bcsi:policy: domains not checked")
    allowed = {d.casefold() for d in domains}
    return [f"user '{upn}' is outside the tenant's verified domains ({', '.join(domains)})"
            for upn in upns if upn.rpartition("@")[2].casefold() not in allowed]


MANDATORY_RESOURCE_RULES = {
    "integration-admin-only-for-integration-principal": integration_admin_only_for_integration_principal,
    "no-builtin-admin-roles": no_builtin_admin_roles,
    "app-credential-max-lifetime": credential_max_lifetime,
    "prod-no-client-secrets": prod_no_client_secrets,
    "license-sku-allow-list": license_sku_allow_list,
    "license-units-not-exceeded": license_units_not_exceeded,
    "principals-in-verified-domains": principals_in_verified_domains,
}


# --- advisory rules over the whole stack -----------------------------------------------------------

def _role_holders(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, set[str]]:
    holders: dict[str, set[str]] = {}
    for resource_type, props in resources:
        if resource_type == ROLE_ASSIGNMENT:
            role = role_lookup(str(props.get("roleName") or "")).name
            holders.setdefault(role.casefold(), set()).update(key.lower() for _, key in role_principals(props))
    return holders


def role_assignment_shrink(resources: Iterable[tuple[str, Mapping[str, Any]]], config: Mapping[str, Any]) -> list[str]:
    """A big drop in role holders is more often a broken settings file than an intended offboarding."""
    previous = config.get("previousRoleAssignments")
    if previous is None:
        raise NotApplicable("no previousRoleAssignments in the pack config (the pipeline writes it from the "
                            "stack output roleAssignments): shrink not checked")
    limit = int(config.get("maxShrinkPercent") or 0)
    holders = _role_holders(resources)
    messages = []
    for role, before in sorted(previous.items()):
        before_keys = {principal_key(p)[1].lower() for p in before or ()} - {""}
        if not before_keys:
            continue
        removed = sorted(before_keys - holders.get(role_lookup(role).name.casefold(), set()))
        percent = 100 * len(removed) / len(before_keys)
        if percent > limit:
            messages.append(f"role '{role}' loses {len(removed)} of {len(before_keys)} holders ({percent:.0f}% > "
                            f"{limit}%): {', '.join(removed)}")
    return messages


def product_availability_users_present(resources: Iterable[tuple[str, Mapping[str, Any]]],
                                       config: Mapping[str, Any]) -> list[str]:
    """Without holders, salespeople cannot look up Business Central item availability from Sales."""
    holders = _role_holders(resources)
    if not holders:
        raise NotApplicable("the stack assigns no Dataverse roles")
    if holders.get(PRODUCT_AVAILABILITY_USER.casefold()):
        return []
    return ["role 'Product Availability User' has no principals: nobody can look up Business Central item "
            "availability from Sales"]


ADVISORY_STACK_RULES = {
    "role-assignment-shrink": role_assignment_shrink,
    "product-availability-users-present": product_availability_users_present,
}
