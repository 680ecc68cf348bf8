"""`bcsi export` pure parts: the stack file's shape and comments, the roles and plans rules, and flag errors
(one line, exit 1, nothing written)."""
from __future__ import annotations

import yaml
from click.testing import CliRunner

from mscloud.wellknown import APPLICATION, USER
from provisioning.cli import main
from provisioning.export import Export, disabled_plans, role_settings
from provisioning.export_render import stack_file, summary

APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
SKU = {"skuPartNumber": "DYN365_ENTERPRISE_SALES", "skuId": "1e1a282c-9c54-43a2-9310-98ef728faace",
       "servicePlans": [{"servicePlanId": "17ab22cd-a0b3-4536-910a-cb6eb12696c0", "servicePlanName": "DYN365_CDS_DYN_APPS"}]}


def sample() -> Export:
    result = Export(config={"bcsi:cloud": "sandbox", "bcsi:identity": {"mode": "existing", "app": {"appId": APP}},
                            "bcsi:roles": {"Integration Administrator": ["integration"]}})
    result.note("bcsi:identity", "mode existing: " + "a long comment " * 12)
    result.not_adopted.append("role Product Availability User: looked up by name does not exist")
    return result


def test_stack_file_is_the_config_with_comments_and_the_not_adopted_list():
    text = stack_file(sample(), "handmade", "the sandbox cloud")
    assert yaml.safe_load(text) == {"config": sample().config}
    lines = text.splitlines()
    assert lines[0].startswith("# Stack handmade: exported by `bcsi export` on ")
    assert all(len(line) <= 110 for line in lines)
    identity = lines.index("  bcsi:identity:")
    assert lines[identity - 1].startswith("  # ") and any(line.startswith("  # mode existing: ") for line in lines)
    assert lines[-2:] == ["# Not adopted exactly (1):", "# - role Product Availability User: looked up by name does not exist"]


def test_summary_counts_and_lists_what_was_not_adopted():
    lines = summary(sample(), "stacks/Pulumi.handmade.yaml")
    assert lines[0].startswith(f"wrote stacks/Pulumi.handmade.yaml: integration principal {APP}, 1 role holder(s) in 1 role(s)")
    assert lines[1:] == ["not adopted exactly (1):", "- role Product Availability User: looked up by name does not exist"]


def test_roles_name_the_integration_principal_integration_first():
    holders = {"Integration User": {(USER, "bob@contoso.com"): {}, (APPLICATION, APP): {}, (USER, "ann@contoso.com"): {}}}
    assert role_settings(holders, (APPLICATION, APP)) == {
        "Integration User": ["integration", "ann@contoso.com", "bob@contoso.com"]}


def row(upn: str, plans: list[str], by_group: str | None = None) -> dict:
    state = {"skuId": SKU["skuId"], "disabledPlans": plans, "assignedByGroup": by_group}
    return {"userPrincipalName": upn, "assignedLicenses": [{"skuId": SKU["skuId"], "disabledPlans": plans}],
            "licenseAssignmentStates": [state]}


def test_shared_disabled_plans_are_exported_by_name_and_differing_ones_listed():
    plan = "17ab22cd-a0b3-4536-910a-cb6eb12696c0"
    same = Export()
    assert disabled_plans([row("a@x.com", [plan]), row("b@x.com", [plan])], SKU, ["a@x.com", "b@x.com"], same) == [
        "DYN365_CDS_DYN_APPS"]
    assert same.not_adopted == []
    differ = Export()
    assert disabled_plans([row("a@x.com", [plan]), row("b@x.com", [])], SKU, ["a@x.com", "b@x.com"], differ) == []
    assert differ.not_adopted == [
        "licence DYN365_ENTERPRISE_SALES: disabled plans differ per user (none; DYN365_CDS_DYN_APPS); exported without "
        "disabledPlans: holders keep their plans, users added later get all"]
    group_only = Export()   # a group's plans are the group's, not the user's own
    assert disabled_plans([row("a@x.com", [plan], by_group="g1"), row("b@x.com", [])], SKU, ["b@x.com"], group_only) == []
    assert group_only.not_adopted == []


def run(*args: str):
    return CliRunner().invoke(main, ["export", *args])


def one_line_exit_1(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bcsi export: ") and text in lines[0], result.output
    assert "Traceback" not in result.output


def test_bad_flags_are_one_line_and_exit_1(tmp_path):
    one_line_exit_1(run("--stack", "a b", "--cloud", "sandbox"), "is not a stack name")
    one_line_exit_1(run("--stack", "dev"), "--dataverse-url is required unless --cloud sandbox")
    one_line_exit_1(run("--stack", "dev", "--dataverse-url", "http://contoso.crm.dynamics.com"), "is not an https org URL")
    one_line_exit_1(run("--stack", "dev", "--cloud", "sandbox", "--bc-company", "CRONUS"), "--bc-company needs --bc-environment")
    existing = tmp_path / "Pulumi.dev.yaml"
    existing.write_text("config: {}\n")
    one_line_exit_1(run("--stack", "dev", "--cloud", "sandbox", "--out", str(existing)), "exists; pass --force")
    assert existing.read_text() == "config: {}\n"


def test_an_unreachable_sandbox_is_one_line_exit_1_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("BCSI_SANDBOX_DIR", str(tmp_path / "no-sandbox"))
    out = tmp_path / "Pulumi.dev.yaml"
    one_line_exit_1(run("--stack", "dev", "--cloud", "sandbox", "--out", str(out)), "endpoints.json")
    assert not out.exists()
