"""`bcsi check` against the sandbox: passes on the sandbox stack's end state, fails naming exactly the rule and
object when one thing is broken out of band through the sandbox's own APIs, passes again after the stack's
providers repair what the stack owns, and stays within a fixed request budget at 1,000 users.

The stack's end state is set up (and repaired) through the stack's own providers, exactly as `pulumi up` calls
them; tests/engine/test_check.py runs `bcsi check` after a real `pulumi up`.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provisioning.check import LiveEnvironment, run_checks
from provisioning.cli import main
from provisioning.dataverse_connection import role_principals
from provisioning.licenses import LicenseAssignmentProvider
from provisioning.settings import load_stack, parse
from sandbox.seed import DEFAULT_SEED
from solution_import.members import classify
from mscloud.wellknown import INTEGRATION_USER_ROLE_ID, fixed_role_id
from solution_import.roles import RoleAssignmentProvider
from solution_import.solution import IntegrationSolutionProvider
from solution_import.users import ApplicationUserProvider, IntegrationUserAccessProvider
from tests.providerkit import ProviderCloud
from tests.sandboxkit import ADMIN_APP, add_bc_environments, start_sandbox

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[3]
INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
SYSTEM_ADMINISTRATOR = "System Administrator"
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
BULK = 1000
BULK_USERS = [f"sales{n:04d}@contoso.com" for n in range(1, BULK + 1)]


class Cloud(ProviderCloud):
    """A private sandbox (currencies EUR base + USD, 1,000 licensed Sales users) and the admin clients that break it."""

    def bc_patch(self, path: str, body: dict) -> None:
        """A BC API PATCH as an admin would send it (If-Match: *)."""
        token = self.running.admin_token(BC_SCOPE)
        response = self.running.session().patch(
            f"{self.running.endpoints['business_central']}/{path}", json=body,
            headers={"Authorization": f"Bearer {token}", "If-Match": "*"})
        assert response.status_code == 200, response.text

    def api_requests(self) -> int:
        metrics = self.running.metrics()
        return sum(n for route, n in metrics["requests"].items() if "/oauth2/" not in route and "/.well-known/" not in route)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    base = tmp_path_factory.mktemp("check")
    seed = yaml.safe_load(DEFAULT_SEED.read_text())
    # 1,000 more Sales users, licensed and in Dataverse from the start (assigning 1,000 licences one by one
    # would only measure the sandbox's Graph; the check's reads are what this module counts)
    for sku in seed["graph"]["skus"]:
        sku["prepaidUnits"] = BULK + 100
    seed["graph"]["users"] += [{"userPrincipalName": upn, "displayName": upn, "usageLocation": "US",
                                "licenses": ["DYN365_ENTERPRISE_SALES"]} for upn in BULK_USERS]
    seed["dataverse"]["orgs"][0]["users"] += [{"domainname": upn, "roles": ["Salesperson"]} for upn in BULK_USERS]
    seed["dataverse"]["orgs"][0]["currencies"] = ["EUR", "USD"]   # EUR is the base: USD may be deleted
    add_bc_environments(seed)   # BC environments Legacy (25.5), Variant (a page lacking fields), Closed (no app registered)
    (base / "seed.yaml").write_text(yaml.safe_dump(seed))
    with start_sandbox(base / "data", seed=base / "seed.yaml") as running:
        yield Cloud(running)


def apply_stack(cloud: Cloud, settings) -> None:
    """What `pulumi up` of the stack does, through the same providers: solution, users, roles, licences."""
    IntegrationSolutionProvider().create(cloud.solution_props(ROOT / settings.solution.path))
    ApplicationUserProvider().create(cloud.props(appId=settings.identity.app.app_id))
    IntegrationUserAccessProvider().create(cloud.props(
        userPrincipalName=settings.identity.user.user_principal_name, accessMode=4))
    integration = classify(settings.integration_principal)
    for role, members in sorted(settings.roles.items()):
        RoleAssignmentProvider().create(cloud.props(roleName=role, roleId=fixed_role_id(role),
                                                    principals=role_principals(members),
                                                    integrationPrincipal=integration))
    for sku, entry in sorted(settings.licenses.items()):
        LicenseAssignmentProvider().create({"connection": cloud.conn, "skuPartNumber": sku, "users": list(entry.users),
                                            "groups": list(entry.groups), "disabledPlans": list(entry.disabled_plans)})


def bcsi_check(cloud: Cloud, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--stack", "sandbox", "--project-dir", str(ROOT), *args],
                                env={"BCSI_SANDBOX_DIR": str(cloud.running.data_dir)})
    return result.exit_code, result.output


def checks(cloud: Cloud) -> tuple[int, list[dict]]:
    code, output = bcsi_check(cloud, "--format", "json")
    document = json.loads(output)
    assert document["stack"] == "sandbox"
    return code, document["checks"]


def failures(found: list[dict]) -> list[tuple[str, str]]:
    return [(c["name"], c["object"]) for c in found if c["result"] == "fail"]


@pytest.fixture(scope="module")
def settings():
    return load_stack(ROOT, "sandbox")


@pytest.fixture(scope="module")
def stack_up(cloud, settings):
    apply_stack(cloud, settings)
    return settings


def assert_passes(cloud: Cloud) -> list[dict]:
    code, found = checks(cloud)
    assert failures(found) == [], found
    assert code == 0
    return found


def test_check_passes_on_the_stack_and_writes_nothing(cloud, stack_up):
    cloud.running.reset_metrics()
    found = assert_passes(cloud)
    assert cloud.running.metrics()["writes"] == 0
    names = {c["name"] for c in found}
    assert {"integration principal.exists", "integration principal.not-system-administrator",
            "integration principal.integration-administrator", "integration principal.integration-user",
            "integration solution", "currency", "salesperson coupling", "licence", "product availability",
            "app credential", "app consent", "integration user.non-interactive"} <= names
    for check in found:
        assert set(check) == {"name", "result", "object", "detail", "fix"}
        assert check["result"] in ("pass", "warn")
        assert check["fix"] or check["result"] == "pass"
    # the seeded integration app has a client secret and admin consent for Dataverse (identity mode `existing`)
    assert {(c["name"], c["result"]) for c in found if c["name"].startswith("app ")} == {
        ("app credential", "pass"), ("app consent", "pass")}


def test_table_and_markdown_outputs(cloud, stack_up):
    code, table = bcsi_check(cloud)
    assert code == 0
    assert table.splitlines()[0] == "bcsi check: stack sandbox"
    assert table.splitlines()[1].split()[:4] == ["RESULT", "CHECK", "OBJECT", "DETAIL"]
    assert table.splitlines()[-1].startswith("OK: ") and "0 failed" in table.splitlines()[-1]
    code, markdown = bcsi_check(cloud, "--format", "markdown")
    assert code == 0
    assert "| result | check | object | detail | fix |" in markdown


def test_system_administrator_on_the_integration_principal_fails_then_up_repairs(cloud, stack_up):
    dataverse = cloud.dataverse
    user = dataverse.list("systemusers", select=["systemuserid"], filter=f"applicationid eq {INTEGRATION_APP}")[0]
    admin = dataverse.list("roles", select=["roleid"], filter=f"name eq '{SYSTEM_ADMINISTRATOR}'")[0]
    dataverse.associate("systemusers", user["systemuserid"], "systemuserroles_association", "roles", admin["roleid"])
    try:
        code, found = checks(cloud)
        assert code == 1
        assert failures(found) == [("integration principal.not-system-administrator",
                                    f"application user {INTEGRATION_APP}")]
    finally:   # System Administrator is not a role the stack manages: the admin removes it
        dataverse.disassociate("systemusers", user["systemuserid"], "systemuserroles_association", admin["roleid"])
    assert_passes(cloud)


def test_integration_user_role_removed_fails_then_up_repairs(cloud, stack_up):
    dataverse = cloud.dataverse
    user = dataverse.list("systemusers", select=["systemuserid"], filter=f"applicationid eq {INTEGRATION_APP}")[0]
    dataverse.disassociate("systemusers", user["systemuserid"], "systemuserroles_association", INTEGRATION_USER_ROLE_ID)
    code, found = checks(cloud)
    assert code == 1
    assert failures(found) == [("integration principal.integration-user", f"application user {INTEGRATION_APP}")]
    apply_stack(cloud, stack_up)
    assert_passes(cloud)


def test_currency_deleted_fails(cloud, stack_up):
    dataverse = cloud.dataverse
    usd = dataverse.list("transactioncurrencies", select=["transactioncurrencyid"], filter="isocurrencycode eq 'USD'")[0]
    dataverse.delete("transactioncurrencies", usd["transactioncurrencyid"])
    try:
        code, found = checks(cloud)
        assert code == 1
        assert failures(found) == [("currency", "currency USD of CRONUS USA, Inc.")]
        assert "has: EUR" in next(c["detail"] for c in found if c["name"] == "currency")
    finally:   # currencies are not the stack's: the admin adds it back
        dataverse.create("transactioncurrencies", {"isocurrencycode": "USD", "currencyname": "US Dollar",
                                                   "currencysymbol": "$"})
    assert_passes(cloud)


def test_blocked_salesperson_fails(cloud, stack_up):
    bc = cloud.clients.business_central("Production")
    company = bc.company_named("CRONUS USA, Inc.")
    person = next(p for p in bc.salespersons(company["id"])[0] if p["code"] == "BK")
    path = f"companies({company['id']})/salespeoplePurchasers({person['id']})"
    cloud.bc_patch(path, {"blocked": True})
    try:
        code, found = checks(cloud)
        assert code == 1
        assert failures(found) == [("salesperson coupling", "salesperson BK -> bob@contoso.com")]
        assert "blocked in Business Central" in next(c["detail"] for c in found if c["result"] == "fail")
    finally:
        cloud.bc_patch(path, {"blocked": False})
    assert_passes(cloud)


def test_licence_removed_fails_then_up_repairs(cloud, stack_up):
    graph = cloud.clients.graph
    sku = next(s for s in graph.list("/subscribedSkus") if s["skuPartNumber"] == "DYN365_ENTERPRISE_SALES")
    graph.post("/users/carla@contoso.com/assignLicense", {"addLicenses": [], "removeLicenses": [sku["skuId"]]})
    code, found = checks(cloud)
    assert code == 1
    assert failures(found) == [("licence", "carla@contoso.com (DYN365_ENTERPRISE_SALES)")]
    apply_stack(cloud, stack_up)
    assert_passes(cloud)


def add_credential(cloud, secret: str, **dates) -> None:
    response = cloud.running.session().post(f"/_sandbox/apps/{INTEGRATION_APP}/credentials", json={
        "passwordCredential": {"secret": secret, **dates}})
    assert response.status_code == 201, response.text


def test_expired_credential_fails(cloud, stack_up):
    graph = cloud.clients.graph
    app = graph.list("/applications", params={"$filter": f"appId eq '{INTEGRATION_APP}'"})[0]

    def remove_all():
        for credential in graph.get(f"/applications/{app['id']}")["passwordCredentials"]:
            graph.post(f"/applications/{app['id']}/removePassword", {"keyId": credential["keyId"]})

    remove_all()   # the seeded, valid secret: only an expired one is left
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    add_credential(cloud, "expired-test-secret", startDateTime="2025-01-01T00:00:00Z", endDateTime=past)
    try:
        code, found = checks(cloud)
        assert code == 1
        assert failures(found) == [("app credential", f"app registration {INTEGRATION_APP}")]
        assert "expired" in next(c["detail"] for c in found if c["result"] == "fail")
    finally:   # not the stack's credential (identity mode `existing`): the admin replaces it with a valid one
        remove_all()
        add_credential(cloud, "renewed-test-secret")
    assert_passes(cloud)


def test_an_app_with_only_a_federated_credential_fails_bc_has_nothing_to_sign_in_with(cloud, stack_up):
    """The pipeline may sign in as the integration app with a federated credential, but BC's connection to Dataverse
    needs the app's client secret or certificate."""
    graph = cloud.clients.graph
    app = graph.list("/applications", params={"$filter": f"appId eq '{INTEGRATION_APP}'"})[0]
    secrets = graph.get(f"/applications/{app['id']}")["passwordCredentials"]
    for credential in secrets:
        graph.post(f"/applications/{app['id']}/removePassword", {"keyId": credential["keyId"]})
    graph.post(f"/applications/{app['id']}/federatedIdentityCredentials", {
        "name": "pipeline", "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/bc-sales:environment:prod", "audiences": ["api://AzureADTokenExchange"]})
    try:
        code, found = checks(cloud)
        assert code == 1
        assert failures(found) == [("app credential", f"app registration {INTEGRATION_APP}")]
        failure = next(c for c in found if c["result"] == "fail")
        assert failure["detail"] == ("no client secret or certificate: Business Central cannot sign in to Dataverse "
                                     "(only 1 federated credential(s): those let pipelines in)")
    finally:
        for federated in graph.list(f"/applications/{app['id']}/federatedIdentityCredentials"):
            graph.delete(f"/applications/{app['id']}/federatedIdentityCredentials/{federated['id']}")
        add_credential(cloud, "restored-test-secret")
    assert_passes(cloud)


def test_a_thousand_user_stack_is_checked_with_paged_reads(cloud, stack_up):
    users = BULK_USERS
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.sandbox.yaml").read_text())
    config = document["config"]
    config["bcsi:licenses"]["DYN365_ENTERPRISE_SALES"]["users"] += users
    config["bcsi:roles"]["Product Availability User"] += users
    big = parse(config, "stacks/Pulumi.sandbox.yaml", project_dir=ROOT)
    RoleAssignmentProvider().create(cloud.props(   # the licences are seeded; the role is the stack's
        roleName="Product Availability User", roleId=None, integrationPrincipal=None,
        principals=[classify(m) for m in big.roles["Product Availability User"]]))
    cloud.running.reset_metrics()
    results = run_checks(LiveEnvironment(big, cloud.clients, ROOT, cloud.conn))
    assert [r for r in results if r.result == "fail"] == []
    metrics = cloud.running.metrics()
    assert metrics["writes"] == 0
    assert cloud.api_requests() <= 20, metrics["requests"]   # the same handful of paged reads as for 3 users (19)
    assert metrics["requests"]["GET /v1.0/users"] == 2        # the SKU's 1,000+ holders: two pages of 999
    assert metrics["requests"].get("GET /v1.0/users/{id}", 0) == 0


def sandbox_stack_on(environment: str) -> dict:
    """The sandbox stack's file, pointed at another BC environment."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.sandbox.yaml").read_text())
    document["config"]["bcsi:businessCentral"]["environment"] = environment
    return document


def checks_on(cloud: Cloud, environment: str):
    """run_checks of the sandbox stack pointed at another BC environment."""
    settings = parse(sandbox_stack_on(environment)["config"], "stacks/Pulumi.sandbox.yaml", project_dir=ROOT)
    return run_checks(LiveEnvironment(settings, cloud.clients, ROOT, cloud.conn))


def test_a_rule_that_cannot_read_fails_alone(cloud, stack_up):
    results = checks_on(cloud, "Nowhere")
    failed = [(r.name, r.object) for r in results if r.result == "fail"]
    assert failed == [("business central access", "(could not read)")]   # currency and couplings: not tried
    assert all("Nowhere" in r.detail and "\n" not in r.detail for r in results if r.result == "fail")
    assert any(r.name == "licence" and r.result == "pass" for r in results)   # the other rules still ran


def stack_on_environment(tmp_path: Path, environment: str) -> Path:
    """A copy of the project whose sandbox stack points at another BC environment (the solutions are linked)."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.sandbox.yaml").write_text(yaml.safe_dump(sandbox_stack_on(environment)))
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "solutions").symlink_to(ROOT / "solutions")
    return tmp_path


def test_an_app_not_registered_in_business_central_fails_naming_the_page_and_the_fix(cloud, stack_up, tmp_path):
    """No BC API lists the apps on "Microsoft Entra Applications": the refused read is the test, and the fix names
    the page, the app's client id and the consent (tests/sandbox/bc/test_environments.py has BC's answer)."""
    project = stack_on_environment(tmp_path, "Closed")
    result = CliRunner().invoke(main, ["check", "--stack", "sandbox", "--project-dir", str(project), "--format", "json"],
                                env={"BCSI_SANDBOX_DIR": str(cloud.running.data_dir)})
    assert result.exit_code == 1
    found = json.loads(result.output)["checks"]
    assert failures(found) == [("business central access", f"app {ADMIN_APP} in environment Closed")]
    failure = next(c for c in found if c["result"] == "fail")
    assert "401 Authentication_InvalidCredentials" in failure["detail"]
    assert failure["fix"].startswith(f"in Business Central open Microsoft Entra Applications (page 9860), add Client "
                                     f"ID {ADMIN_APP} with State Enabled")
    assert not {"currency", "salesperson coupling"} & {c["name"] for c in found}   # said once, not three times


def test_bc_before_26_says_what_was_not_checked_and_passes(cloud, stack_up):
    """BC 25.x has no salespeoplePurchasers (tests/sandbox/bc/test_environments.py): a warning saying so and why;
    the Sales users of the couplings are still checked."""
    results = checks_on(cloud, "Legacy")
    assert [r for r in results if r.result == "fail"] == []
    warning = next(r for r in results if r.name == "salesperson coupling.not-checked")
    assert warning.result == "warn" and warning.object == "environment Legacy"
    assert "has no salespeoplePurchasers in API v2.0 (it came with Business Central 26.0)" in warning.detail
    assert "26.0 or later" in warning.fix
    assert [r.result for r in results if r.name == "salesperson coupling"] == ["pass", "pass"]


def test_a_salesperson_page_without_blocked_is_read_with_the_fields_it_has(cloud, stack_up):
    results = checks_on(cloud, "Variant")
    assert [r for r in results if r.result == "fail"] == []
    warning = next(r for r in results if r.name == "salesperson coupling.not-checked")
    assert warning.detail.startswith("salesperson fields email, blocked not checked")
