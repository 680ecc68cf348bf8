"""`bcsi check`'s pure rules and renderers: role recognition, credential windows, exit codes, output shapes."""
from __future__ import annotations

import datetime as dt
import json

from provisioning.check import (FAIL, PASS, WARN, CheckResult, credential_results, exit_code, principal_role_results,
                                role_named, rules)
from provisioning.check_render import RENDERERS, summary_line
from provisioning.settings import parse
from mscloud.wellknown import INTEGRATION_ADMINISTRATOR_ROLE_ID, INTEGRATION_USER_ROLE_ID

SYSADMIN_TEMPLATE = "627090ff-40a3-4053-8790-584edc5be201"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
OBJ = "application user 5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"

ROOT_ROLES = [
    {"roleid": "AAAAAAAA-0000-0000-0000-000000000001", "name": "System Administrator", "_roletemplateid_value": SYSADMIN_TEMPLATE},
    {"roleid": INTEGRATION_ADMINISTRATOR_ROLE_ID, "name": "Integrationsadministrator"},   # renamed / translated
    {"roleid": INTEGRATION_USER_ROLE_ID, "name": "Integration User"},
    {"roleid": "bbbbbbbb-0000-0000-0000-000000000002", "name": "Product Availability User"},
]


def by_name(results):
    return {r.name: r for r in results}


def test_roles_are_found_by_fixed_id_before_name():
    role, how = role_named(ROOT_ROLES, "Integration Administrator")
    assert role["roleid"] == INTEGRATION_ADMINISTRATOR_ROLE_ID and how == f"by id {INTEGRATION_ADMINISTRATOR_ROLE_ID}"
    role, how = role_named(ROOT_ROLES, "product availability user")
    assert role["name"] == "Product Availability User" and how == "by name 'Product Availability User'"
    without_ids = [{"roleid": "cccccccc-0000-0000-0000-000000000003", "name": "Integration User"},
                   {"roleid": "dddddddd-0000-0000-0000-000000000004",
                    "name": "Dynamics 365 Business Central Integration User"}]
    role, how = role_named(without_ids, "Integration User")   # the real display name before the short one
    assert role["roleid"].startswith("dddddddd") and how == "by name 'Dynamics 365 Business Central Integration User'"
    assert role_named([], "Integration User") == (None, f"by id {INTEGRATION_USER_ROLE_ID}, or by name "
                                                        "'Dynamics 365 Business Central Integration User' or "
                                                        "'Integration User'")


def test_principal_with_both_integration_roles_passes():
    held = [{"roleid": INTEGRATION_ADMINISTRATOR_ROLE_ID}, {"roleid": INTEGRATION_USER_ROLE_ID}]
    results = principal_role_results(OBJ, held, ROOT_ROLES)
    assert all(r.result == PASS for r in results), results
    assert "by id" in by_name(results)["integration principal.integration-administrator"].detail


def test_system_administrator_is_recognised_by_template_not_name():
    held = [{"roleid": INTEGRATION_ADMINISTRATOR_ROLE_ID}, {"roleid": INTEGRATION_USER_ROLE_ID},
            {"roleid": "dddddddd-0000-0000-0000-000000000004", "name": "Systemadministrator",
             "_roletemplateid_value": SYSADMIN_TEMPLATE.upper()}]
    results = by_name(principal_role_results(OBJ, held, ROOT_ROLES))
    assert results["integration principal.not-system-administrator"].result == FAIL
    assert "by template id" in results["integration principal.not-system-administrator"].detail
    named_only = [{"roleid": INTEGRATION_ADMINISTRATOR_ROLE_ID}, {"roleid": INTEGRATION_USER_ROLE_ID},
                  {"roleid": "eeeeeeee-0000-0000-0000-000000000005", "name": "System Administrator"}]
    assert by_name(principal_role_results(OBJ, named_only, ROOT_ROLES))[
        "integration principal.not-system-administrator"].result == PASS


def test_missing_roles_each_fail_with_a_fix():
    results = by_name(principal_role_results(OBJ, [], []))
    assert results["integration principal.has-role"].result == FAIL
    assert results["integration principal.integration-user"].result == FAIL
    assert "not found in Dataverse" in results["integration principal.integration-user"].detail
    assert all(r.fix for r in results.values() if r.result == FAIL)
    only_admin = by_name(principal_role_results(OBJ, [{"roleid": INTEGRATION_ADMINISTRATOR_ROLE_ID}], ROOT_ROLES))
    assert only_admin["integration principal.integration-administrator"].result == PASS
    assert only_admin["integration principal.integration-user"].result == FAIL


def secret(end: str | None) -> dict:
    return {"keyId": "k", "endDateTime": end}


def test_credential_windows():
    app = lambda *creds: {"passwordCredentials": list(creds), "keyCredentials": []}  # noqa: E731
    none = credential_results(OBJ, app(), [], NOW, 30)[0]
    assert none.result == FAIL and none.detail == "no client secret or certificate: Business Central cannot sign in to Dataverse"
    expired = credential_results(OBJ, app(secret("2026-05-01T00:00:00Z")), [], NOW, 30)[0]
    assert expired.result == FAIL and "2026-05-01" in expired.detail and expired.fix
    rotated = credential_results(OBJ, app(secret("2026-05-01T00:00:00Z"), secret("2027-05-01T00:00:00Z")), [], NOW, 30)
    assert rotated[0].result == PASS and "2027-05-01" in rotated[0].detail
    soon = credential_results(OBJ, app(secret("2026-06-20T00:00:00Z")), [], NOW, 30)[0]
    assert soon.result == WARN and "within 30 days" in soon.detail
    assert credential_results(OBJ, app(secret("2026-06-20T00:00:00Z")), [], NOW, 7)[0].result == PASS
    # a federated credential lets a pipeline sign in as the app; BC has nothing to present with it
    federated_only = credential_results(OBJ, app(), [{"name": "github"}], NOW, 30)[0]
    assert federated_only.result == FAIL and "(only 1 federated credential(s): those let pipelines in)" in federated_only.detail
    assert credential_results(OBJ, app(secret("2027-05-01T00:00:00Z")), [{"name": "github"}], NOW, 30)[0].result == PASS


def test_exit_code_ignores_warnings():
    assert exit_code([CheckResult("a", PASS, "x", "ok"), CheckResult("b", WARN, "y", "hm", "do")]) == 0
    assert exit_code([CheckResult("a", FAIL, "x", "bad", "fix it")]) == 1
    assert exit_code([]) == 0


def test_rules_follow_the_settings():
    minimal = parse({"cloud": "sandbox", "identity": {"mode": "existing", "user": {"userPrincipalName": "i@contoso.com"}},
                     "solution": {"path": "s.zip"}}, "stacks/Pulumi.x.yaml")
    assert [name for name, _ in rules(minimal, 30)] == ["integration principal", "integration solution",
                                                        "product availability"]


def test_renderers():
    results = [CheckResult("currency", PASS, "currency USD of CRONUS", "Dataverse has USD"),
               CheckResult("licence", FAIL, "carla@contoso.com (SALES)", "does not hold SALES", "run `pulumi up`"),
               CheckResult("app consent", WARN, "app registration x", "no consent", "grant it | now")]
    table = RENDERERS["table"]("dev", results).splitlines()
    assert table[0] == "bcsi check: stack dev"
    assert table[1].split() == ["RESULT", "CHECK", "OBJECT", "DETAIL"]
    assert table[3].startswith("FAIL") and table[3].endswith("does not hold SALES -> fix: run `pulumi up`")
    assert table[-1] == "FAILED: 1 passed, 1 warning(s), 1 failed" == summary_line(results)
    document = json.loads(RENDERERS["json"]("dev", results))
    assert document == {"stack": "dev", "checks": [
        {"name": "currency", "result": "pass", "object": "currency USD of CRONUS", "detail": "Dataverse has USD", "fix": ""},
        {"name": "licence", "result": "fail", "object": "carla@contoso.com (SALES)", "detail": "does not hold SALES",
         "fix": "run `pulumi up`"},
        {"name": "app consent", "result": "warn", "object": "app registration x", "detail": "no consent",
         "fix": "grant it | now"}]}
    markdown = RENDERERS["markdown"]("dev", results)
    assert "| warn |" not in markdown and "| WARN | app consent | app registration x | no consent | grant it \\| now |" in markdown


def test_cli_errors_are_one_line_and_exit_1(tmp_path):
    from click.testing import CliRunner

    from provisioning.cli import main

    missing = CliRunner().invoke(main, ["check", "--stack", "nope"])
    assert missing.exit_code == 1
    assert missing.output.strip().startswith("stacks/Pulumi.nope.yaml: no such stack file")
    no_sandbox = CliRunner().invoke(main, ["check", "--stack", "sandbox"], env={"BCSI_SANDBOX_DIR": str(tmp_path)})
    assert no_sandbox.exit_code == 1
    assert no_sandbox.output.strip() == f"Error: {tmp_path}/endpoints.json: not found; start the sandbox (`make sandbox`) or set BCSI_SANDBOX_DIR"
