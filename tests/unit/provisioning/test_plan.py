"""`bcsi plan` pure parts: the JSON shape of README "Reviewing changes", Markdown and table rendering, credential rules, CLI errors."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from click.testing import CliRunner

from provisioning.cli import main
from provisioning.credentials import credential_expiry
from provisioning.plan import Change, Plan, credential_renewal
from provisioning.plan_render import as_json, as_markdown, as_table, headline
from provisioning.settings import AppSettings
from tests.enginekit import ROOT

ORG = "https://contoso.crm.dynamics.com"
TENANT = "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21"


def sample() -> Plan:
    changes = [
        Change("ann@contoso.com", "role", "Integration User", "grant", ORG),
        Change("ann@contoso.com", "license", "DYN365_ENTERPRISE_SALES", "grant", TENANT),
        Change("bob@contoso.com", "role", "Product Availability User", "revoke", ORG),
        Change("5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37", "role", "Integration Administrator", "grant", ORG),
    ]
    return Plan("dev", tuple(sorted(changes)))


def test_json_is_exactly_the_contract_shape():
    data = json.loads(as_json(sample()))
    assert set(data) == {"stack", "changes"} and data["stack"] == "dev"
    assert all(set(c) == {"action", "kind", "principal", "target", "scope"} for c in data["changes"])
    assert {"action": "revoke", "kind": "role", "principal": "bob@contoso.com",
            "target": "Product Availability User", "scope": ORG} in data["changes"]
    assert [c["principal"] for c in data["changes"]][:1] == ["5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"]


def test_markdown_starts_with_the_summary_and_groups_by_principal():
    text = as_markdown(sample())
    lines = text.splitlines()
    assert lines[0] == "**bcsi plan — stack dev: 3 grants, 1 revoke**"
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 4
    assert rows[1].startswith("| `ann@contoso.com` |") and rows[2].startswith("|  |")   # second ann row: no name
    assert "| - revoke | role | Product Availability User |" in text


def test_markdown_escapes_pipes_and_says_no_changes():
    plan = Plan("x", (Change("a@b.com", "role", "odd|name", "grant", ORG),))
    assert "odd\\|name" in as_markdown(plan)
    empty = as_markdown(Plan("prod", ()))
    assert empty.startswith("**bcsi plan — stack prod: no changes**") and "|" not in empty


def test_table_names_each_principal_once_with_its_changes():
    text = as_table(sample(), width=160)
    assert text.splitlines()[0] == "bcsi plan — stack dev: 3 grants, 1 revoke"
    assert text.count("ann@contoso.com") == 1
    assert "- revoke" in text and "Product Availability User" in text
    assert headline(Plan("s", ())) == "stack s: no changes"


def test_credential_expiry_is_the_rule_check_and_plan_share():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def state(*ends, days=30):
        return credential_expiry([{"endDateTime": e} for e in ends], now, days)

    assert credential_expiry([], now).state == "none"
    assert state(None, "2025-01-01T00:00:00Z").state == "no-end"
    assert (state("2025-12-31T00:00:00Z").state, state("2025-12-31T00:00:00Z").date) == ("expired", "2025-12-31")
    assert (state("2026-01-20T00:00:00Z").state, state("2026-01-20T00:00:00Z").date) == ("expiring", "2026-01-20")
    assert state("2026-01-20T00:00:00Z", days=10).state == "valid"
    assert state("2026-01-20T00:00:00Z", "2026-06-01T00:00:00.1234567Z").state == "valid"   # the latest counts


def test_credential_renewal_names_what_is_due():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    secret = AppSettings(display_name="app", credential="secret", secret_expiry_days=90)

    def due(*creds, settings=secret, days=30):
        return credential_renewal(None, {"passwordCredentials": list(creds)}, settings, days, now)

    ours = {"displayName": "bcsi integration"}
    assert due(ours | {"endDateTime": "2026-06-01T00:00:00Z"}) is None
    assert due(ours | {"endDateTime": "2026-01-20T00:00:00Z"}) == (
        "client secret 'bcsi integration' (90 days): rotation due, current one expires 2026-01-20")
    assert due(ours | {"endDateTime": "2026-01-20T00:00:00Z"}, days=7) is None
    assert due(ours | {"endDateTime": "2026-01-20T00:00:00Z"}, ours | {"endDateTime": "2026-09-01T00:00:00Z"}) is None
    stale = [ours | {"endDateTime": "2025-03-01T00:00:00Z"},
             {"displayName": "someone else's", "endDateTime": "2027-01-01T00:00:00Z"}]
    assert due(*stale) == "client secret 'bcsi integration' (90 days)"   # only the stack's own secret counts
    assert due() == "client secret 'bcsi integration' (90 days)"
    cert = AppSettings(display_name="app", credential="certificate", certificate_path="certs/bcsi.pem")
    renew = credential_renewal(None, {"keyCredentials": [{"endDateTime": "2026-01-31T00:00:00Z"}]}, cert, 30, now)
    assert renew == "certificate certs/bcsi.pem: renewal due, current one expires 2026-01-31"


def test_cli_bad_stack_is_one_line_and_exit_1():
    result = CliRunner().invoke(main, ["plan", "--stack", "nope", "--project-dir", str(ROOT)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stacks/Pulumi.nope.yaml: no such stack file")
    assert "Traceback" not in result.output


def test_cli_unreachable_sandbox_is_one_line_and_exit_1(tmp_path, monkeypatch):
    monkeypatch.setenv("BCSI_SANDBOX_DIR", str(tmp_path / "no-sandbox"))
    result = CliRunner().invoke(main, ["plan", "--stack", "sandbox", "--project-dir", str(ROOT), "--format", "json"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bcsi plan: ") and "endpoints.json" in lines[0]


def test_cli_missing_azure_credentials_is_one_line_and_exit_1(monkeypatch):
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                 "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["plan", "--stack", "dev", "--project-dir", str(ROOT)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "AZURE_TENANT_ID" in result.output
