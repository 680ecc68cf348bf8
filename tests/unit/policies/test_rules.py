"""The policy rules as plain functions: one passing and one failing case per rule, messages naming the principal."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from policies import rules
from policies.config import effective

CONFIG = effective({"verifiedDomains": ["contoso.com"]}, None, "dev")
PROD = effective({"verifiedDomains": ["contoso.com"]}, {"environmentKind": "prod"}, "prod")
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
APP = "11111111-2222-3333-4444-555555555555"


def role(name, *keys, integration=APP, **extra):
    principals = [{"type": "user" if "@" in k else "application", "key": k} for k in keys]
    return {"roleName": name, "principals": principals,
            "integrationPrincipal": {"type": "application", "key": integration}, **extra}


def test_integration_admin_only_for_the_integration_principal():
    rule = rules.integration_admin_only_for_integration_principal
    assert rule(rules.ROLE_ASSIGNMENT, role("Integration Administrator", APP), CONFIG) == []
    assert rule(rules.ROLE_ASSIGNMENT, role("Integration Administrator", "integration"), CONFIG) == []
    assert rule(rules.ROLE_ASSIGNMENT, role("Integration User", "ann@contoso.com"), CONFIG) == []
    messages = rule(rules.ROLE_ASSIGNMENT, role("Integration Administrator", APP, "ann@contoso.com"), CONFIG)
    assert messages == [f"role 'Integration Administrator' is given to user 'ann@contoso.com': only the "
                        f"integration principal '{APP}' may hold it"]


def test_integration_admin_recognised_by_its_fixed_role_id_and_plain_string_principals():
    props = {"roleName": "Integrationsadministrator", "roleId": "{8C8D4F51-A72B-E511-80D9-3863BB349780}",
             "principals": ["bob@contoso.com"], "integrationPrincipal": "svc@contoso.com"}
    [message] = rules.integration_admin_only_for_integration_principal(rules.ROLE_ASSIGNMENT, props, CONFIG)
    assert "user 'bob@contoso.com'" in message and "'svc@contoso.com'" in message


def test_no_builtin_admin_roles_by_name_and_by_template_id():
    rule = rules.no_builtin_admin_roles
    assert rule(rules.ROLE_ASSIGNMENT, role("Integration User", APP), CONFIG) == []
    assert rule(rules.ROLE_ASSIGNMENT, role("System Administrator"), CONFIG) == []  # nobody gets it
    [by_name] = rule(rules.ROLE_ASSIGNMENT, role("system customizer", "ann@contoso.com"), CONFIG)
    assert by_name == ("role 'system customizer' is a built-in admin role and may not be handed out: "
                       "given to user 'ann@contoso.com'")
    [by_id] = rule(rules.ROLE_ASSIGNMENT, role("Administrateur système", APP,
                                               roleTemplateId="627090FF-40A3-4053-8790-584EDC5BE201"), CONFIG)
    assert "System Administrator" in by_id and f"application '{APP}'" in by_id
    custom = effective({"forbiddenRoles": ["Environment Maker"]}, None)
    assert rule(rules.ROLE_ASSIGNMENT, role("Environment Maker", APP), custom)


@pytest.mark.parametrize("props, days", [
    ({"endDateRelative": "4320h"}, None),
    ({"endDateRelative": "4321h"}, 180),
    ({"endDate": "2026-06-01T00:00:00Z", "startDate": "2026-01-01T00:00:00Z"}, None),
    ({"endDate": "2027-01-01T00:00:00Z"}, 365),
    ({}, 730),
])
def test_credential_max_lifetime_for_passwords(props, days):
    messages = rules.credential_max_lifetime(rules.APPLICATION_PASSWORD, {"applicationId": APP, **props}, CONFIG,
                                             now=NOW)
    if days is None:
        assert messages == []
    else:
        [message] = messages
        assert message.startswith(f"client secret for application '{APP}' is valid for {days} days")
        assert message.endswith("the maximum is 180 days")


def test_credential_max_lifetime_reads_a_certificate_s_own_expiry():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "bcsi")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + timedelta(days=400))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    [message] = rules.credential_max_lifetime(rules.APPLICATION_CERTIFICATE, {"applicationId": APP, "value": pem},
                                              CONFIG, now=NOW)
    assert message.startswith(f"certificate for application '{APP}' is valid for 400 days")
    with pytest.raises(rules.NotApplicable):
        rules.credential_max_lifetime(rules.APPLICATION_CERTIFICATE, {"value": "not a cert"}, CONFIG, now=NOW)


def test_prod_allows_no_client_secret():
    password = {"applicationId": APP, "endDateRelative": "240h"}
    assert rules.prod_no_client_secrets(rules.APPLICATION_PASSWORD, password, CONFIG) == []
    assert rules.prod_no_client_secrets(rules.APPLICATION_CERTIFICATE, password, PROD) == []
    assert rules.prod_no_client_secrets(rules.FEDERATED_CREDENTIAL, {"applicationId": APP}, PROD) == []
    [message] = rules.prod_no_client_secrets(rules.APPLICATION_PASSWORD, password, PROD)
    assert f"application '{APP}'" in message and "prod" in message


def test_license_sku_allow_list():
    ok = {"skuPartNumber": "dyn365_enterprise_sales", "users": ["ann@contoso.com"]}
    assert rules.license_sku_allow_list(rules.LICENSE_ASSIGNMENT, ok, CONFIG) == []
    bad = {"skuPartNumber": "SPE_E5", "users": ["ann@contoso.com"], "groups": ["Sales"]}
    messages = rules.license_sku_allow_list(rules.LICENSE_ASSIGNMENT, bad, CONFIG)
    assert len(messages) == 2
    assert messages[0].startswith("licence SKU 'SPE_E5' is not on the allow-list (DYN365_ENTERPRISE_SALES")
    assert messages[0].endswith("assigned to user 'ann@contoso.com'") and messages[1].endswith("group 'Sales'")


def test_license_units_not_exceeded():
    props = {"skuPartNumber": "D365_SALES_PRO", "users": ["a@contoso.com", "b@contoso.com"]}
    with pytest.raises(rules.NotApplicable, match="availableUnits"):
        rules.license_units_not_exceeded(rules.LICENSE_ASSIGNMENT, props, CONFIG)
    assert rules.license_units_not_exceeded(rules.LICENSE_ASSIGNMENT, {**props, "availableUnits": 2}, CONFIG) == []
    [message] = rules.license_units_not_exceeded(rules.LICENSE_ASSIGNMENT, {**props, "prepaidUnits": {"enabled": 1}},
                                                 CONFIG)
    assert "'a@contoso.com', 'b@contoso.com'" in message and "only 1 units" in message
    grace = {**props, "prepaidUnits": {"enabled": 1, "warning": 1, "lockedOut": 5}}   # grace-period units count
    assert rules.license_units_not_exceeded(rules.LICENSE_ASSIGNMENT, grace, CONFIG) == []


def test_principals_in_verified_domains():
    rule = rules.principals_in_verified_domains
    assert rule(rules.ROLE_ASSIGNMENT, role("Integration User", APP, "Ann@Contoso.com"), CONFIG) == []
    assert rule(rules.AZUREAD_USER, {"userPrincipalName": "svc@fabrikam.com"}, CONFIG) == [
        "user 'svc@fabrikam.com' is outside the tenant's verified domains (contoso.com)"]
    assert rule(rules.LICENSE_ASSIGNMENT, {"users": ["x@contoso.com.evil.io"]}, CONFIG)
    assert rule(rules.INTEGRATION_USER_ACCESS, {"userPrincipalName": "svc@contoso.com"}, CONFIG) == []
    as_the_program_declares_it = {"roleName": "Integration Administrator",
                                  "principals": [{"type": "user", "key": "integration"}]}
    assert rule(rules.ROLE_ASSIGNMENT, as_the_program_declares_it, CONFIG) == []
    resolved = {**as_the_program_declares_it, "integrationPrincipal": {"type": "user", "key": "svc@fabrikam.com"}}
    assert rule(rules.ROLE_ASSIGNMENT, resolved, CONFIG) == [
        "user 'svc@fabrikam.com' is outside the tenant's verified domains (contoso.com)"]
    with pytest.raises(rules.NotApplicable, match="verifiedDomains"):
        rule(rules.AZUREAD_USER, {"userPrincipalName": "svc@fabrikam.com"}, effective(None, None))
    assert rule(rules.APPLICATION_PASSWORD, {}, effective(None, None)) == []  # no UPN: nothing to judge


def test_role_assignment_shrink():
    resources = [(rules.ROLE_ASSIGNMENT, role("Integration User", "integration", "ann@contoso.com"))]
    previous = {"Integration User": [APP, "ann@contoso.com", "bob@contoso.com"],
                "Product Availability User": ["ann@contoso.com", "bob@contoso.com"]}
    config = effective({"previousRoleAssignments": previous}, None)
    assert rules.role_assignment_shrink(resources, config) == [
        "role 'Product Availability User' loses 2 of 2 holders (100% > 50%): ann@contoso.com, bob@contoso.com"]
    assert rules.role_assignment_shrink(resources, effective({"previousRoleAssignments": previous,
                                                              "maxShrinkPercent": 20}, None))[0].startswith(
        "role 'Integration User' loses 1 of 3 holders (33% > 20%): bob@contoso.com")
    with pytest.raises(rules.NotApplicable, match="previousRoleAssignments"):
        rules.role_assignment_shrink(resources, CONFIG)


def test_product_availability_users_present():
    pau = (rules.ROLE_ASSIGNMENT, role("Product Availability User", "ann@contoso.com"))
    empty = (rules.ROLE_ASSIGNMENT, role("Product Availability User"))
    other = (rules.ROLE_ASSIGNMENT, role("Integration User", APP))
    assert rules.product_availability_users_present([other, pau], CONFIG) == []
    assert rules.product_availability_users_present([other, empty], CONFIG)
    assert rules.product_availability_users_present([other], CONFIG)
    with pytest.raises(rules.NotApplicable):
        rules.product_availability_users_present([(rules.AZUREAD_USER, {})], CONFIG)


@given(st.integers(0, 100000), st.integers(0, 59))
def test_go_duration_hours_and_minutes(hours, minutes):
    assert rules.go_duration(f"{hours}h{minutes}m") == timedelta(hours=hours, minutes=minutes)


def test_go_duration_rejects_garbage():
    with pytest.raises(ValueError):
        rules.go_duration("10 days")


def test_values_unknown_during_preview():
    from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy
    from pulumi.runtime.rpc import UNKNOWN

    password = unknown_checking_proxy({"applicationId": UNKNOWN, "endDateRelative": "9000h"})
    [message] = rules.credential_max_lifetime(rules.APPLICATION_PASSWORD, password, CONFIG)
    assert message.startswith("client secret for application '(not created yet)'")
    pending = {"type": "application", "key": UNKNOWN}
    only_integration = unknown_checking_proxy({**role("Integration Administrator", "integration"),
                                               "integrationPrincipal": pending})
    assert rules.integration_admin_only_for_integration_principal(rules.ROLE_ASSIGNMENT, only_integration, CONFIG) == []
    with_app = unknown_checking_proxy({**role("Integration Administrator", "integration", APP),
                                       "integrationPrincipal": pending})
    with pytest.raises(UnknownValueError):
        rules.integration_admin_only_for_integration_principal(rules.ROLE_ASSIGNMENT, with_app, CONFIG)


class _Args:
    """The parts of CrossGuard's validation args the wiring reads."""

    def __init__(self, resource_type="", props=None, config=None, resources=()):
        self.resource_type, self.props, self.name, self.resources = resource_type, props or {}, "res", resources
        self._config, self.skipped = config, None

    def get_config(self):
        return self._config

    def not_applicable(self, reason):
        self.skipped = reason


def test_pack_wiring_reports_messages_skips_and_bad_settings(monkeypatch):
    from policies import pack

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    by_name = {p.name: p for p in pack.policies()}
    assert len(by_name) == 9
    seen = []
    bad = role("Integration Administrator", APP, "ann@contoso.com")
    by_name["integration-admin-only-for-integration-principal"].validate(_Args(rules.ROLE_ASSIGNMENT, bad), seen.append)
    assert seen == [f"res: role 'Integration Administrator' is given to user 'ann@contoso.com': only the integration "
                    f"principal '{APP}' may hold it"]
    args = _Args(rules.AZUREAD_USER, {"userPrincipalName": "a@b.c"})
    by_name["principals-in-verified-domains"].validate(args, seen.append)
    assert "verifiedDomains" in args.skipped
    seen.clear()
    by_name["app-credential-max-lifetime"].validate(_Args(rules.APPLICATION_PASSWORD, {}, {"maxCredentialDays": "x"}),
                                                    seen.append)
    assert seen == ["policy settings: pack config: maxCredentialDays must be a non-negative number, not 'x'"]
    seen.clear()
    stack = _Args(resources=[type("R", (), {"resource_type": rules.ROLE_ASSIGNMENT, "props": role("Integration User")})])
    by_name["product-availability-users-present"].validate(stack, seen.append)
    assert seen and seen[0].startswith("role 'Product Availability User' has no principals")


def test_credential_window_and_dates_known_only_at_up():
    from pulumi_policy.proxy import unknown_checking_proxy
    from pulumi.runtime.rpc import UNKNOWN

    assert rules.credential_max_lifetime(rules.CREDENTIAL_WINDOW, {"days": 180}, CONFIG) == []
    assert rules.credential_max_lifetime(rules.CREDENTIAL_WINDOW, {"days": 365}, CONFIG) == [
        "client secret validity window of 365 days: the maximum is 180 days"]
    assert rules.credential_max_lifetime(rules.CREDENTIAL_WINDOW, unknown_checking_proxy({"days": UNKNOWN}), CONFIG) == []
    pending = unknown_checking_proxy({"applicationId": UNKNOWN, "startDate": UNKNOWN, "endDate": UNKNOWN})
    with pytest.raises(rules.NotApplicable, match="known only at `up`"):
        rules.credential_max_lifetime(rules.APPLICATION_PASSWORD, pending, CONFIG)
