"""`bcsi plan` and `pulumi preview` name the same principals: stack `sandbox` up on its own sandbox, then a settings
change (a role holder added, a licence removed) is planned by both and the two lists of changes must match.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.engine.test_sandbox_stack import SALES, edit_stack
from tests.enginekit import VENV, Stack, sandbox_project_stack

pytestmark = pytest.mark.engine

ROLE_TYPE = "pulumi-python:dynamic/bcsi:RoleAssignment"
LICENSE_TYPE = "pulumi-python:dynamic/bcsi:LicenseAssignment"


def bcsi_plan(stack: Stack, fmt: str = "json") -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "bcsi"), "plan", "--stack", stack.name, "--format", fmt,
                           "--project-dir", str(stack.project_dir)],
                          cwd=stack.project_dir, env=stack.env, capture_output=True, text=True, timeout=300)


def plan_changes(proc) -> set[tuple[str, str, str, str]]:
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    return {(c["action"], c["kind"], c["principal"], c["target"]) for c in json.loads(proc.stdout)["changes"]}


def _keys(values) -> set[str]:
    """Principals as the resources hold them: {type, key} dicts (roles) or UPN strings (licences)."""
    return {str(v["key"] if isinstance(v, dict) else v).lower() for v in values or ()}


def preview_changes(preview: dict, integration: str) -> set[tuple[str, str, str, str]]:
    """The same tuples, from `pulumi preview --json`: each updated resource's wanted set against its live one."""
    found = set()
    for step in preview.get("steps", []):
        if step.get("op") != "update":
            continue
        old, new = step.get("oldState") or {}, step.get("newState") or {}
        inputs, outputs = new.get("inputs") or {}, old.get("outputs") or {}
        if new.get("type") == ROLE_TYPE:
            kind, target = "role", inputs["roleName"]
            wanted = {integration if k == "integration" else k for k in _keys(inputs.get("principals"))}
            have = _keys(outputs.get("members"))
        elif new.get("type") == LICENSE_TYPE:
            kind, target = "license", inputs["skuPartNumber"]
            wanted, have = _keys(inputs.get("users")), _keys(outputs.get("members"))
        else:
            continue
        found |= {("grant", kind, p, target) for p in wanted - have}
        found |= {("revoke", kind, p, target) for p in have - wanted}
    return found


def test_plan_and_preview_name_the_same_principals(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_project_stack(tmp_path, cloud)

    before = bcsi_plan(stack)
    assert before.returncode == 2 and plan_changes(before), before.stdout   # nothing deployed: all grants
    stack.run("up", "--yes", "--skip-preview")
    after = bcsi_plan(stack)
    assert after.returncode == 0, after.stdout + after.stderr
    assert json.loads(after.stdout) == {"stack": "sandbox", "changes": []}

    def change(config):
        config["bcsi:roles"]["Product Availability User"].append("carla@contoso.com")
        config["bcsi:licenses"][SALES]["users"].remove("carla@contoso.com")

    edit_stack(stack.project_dir, change)
    planned = bcsi_plan(stack)
    assert planned.returncode == 2
    expected = {("grant", "role", "carla@contoso.com", "Product Availability User"),
                ("revoke", "license", "carla@contoso.com", SALES)}
    assert plan_changes(planned) == expected

    preview = json.loads(stack.run("preview", "--json").stdout)
    integration = stack.outputs()["integrationPrincipal"]
    assert preview_changes(preview, integration) == plan_changes(planned)
