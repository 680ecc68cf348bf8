"""The sandbox stack end to end with the real engine: up, outputs (README, "Stack outputs" in the configuration reference), no-change preview, a settings
change that previews as exactly that change, a no-change `up` that writes nothing, and destroy.

The project is copied to a temporary directory (its stack file gets the engine's encryptionsalt there, not in
the tree), with its own state backend and its own sandbox.
"""
from __future__ import annotations

import re

import pytest
import yaml

from mscloud.connection import clients_for, connection
from tests.enginekit import copy_project, sandbox_project_stack  # noqa: F401 (others import copy_project here)

pytestmark = pytest.mark.engine

INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
SALES = "DYN365_ENTERPRISE_SALES"


def edit_stack(project_dir, change):
    path = project_dir / "stacks" / "Pulumi.sandbox.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def summary(output: str) -> dict[str, int]:
    """The `Resources:` block of a preview/up: {"to update": 2, "unchanged": 8, ...}."""
    block = output.split("Resources:", 1)[1]
    return {what.strip(): int(n) for n, what in re.findall(r"^\s*[~+\-]?\s*(\d+) ([a-z ]+?)\s*$", block, re.M)}


def test_sandbox_stack_up_preview_change_and_no_change_up(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_project_stack(tmp_path, cloud)

    stack.run("up", "--yes", "--skip-preview")
    outputs = stack.outputs()
    assert outputs["integrationPrincipal"] == INTEGRATION_APP
    assert outputs["solution"] == {"uniqueName": "BcSalesIntegrationSample", "version": "1.0.0.0"}
    assert outputs["roleAssignments"] == {
        "Integration Administrator": [INTEGRATION_APP],
        "Integration User": [INTEGRATION_APP, "ann@contoso.com"],
        "Product Availability User": ["ann@contoso.com", "bob@contoso.com"],
    }
    assert outputs["licenseAssignments"] == {SALES: ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]}
    assert [(c["code"], c["salesUser"]) for c in outputs["couplings"]] == [("AH", "ann@contoso.com"), ("BK", "bob@contoso.com")]
    stack.run("preview", "--expect-no-changes")

    def change(config):
        config["bcsi:roles"]["Product Availability User"].append("carla@contoso.com")
        config["bcsi:licenses"][SALES]["users"].remove("carla@contoso.com")

    edit_stack(stack.project_dir, change)
    previewed = stack.run("preview", "--diff")
    preview = previewed.stdout + previewed.stderr   # --diff writes diagnostics to stderr
    assert summary(preview) == {"to update": 2, "unchanged": 9}, preview
    updates = [line for line in preview.splitlines() if line.lstrip().startswith("~ pulumi-python:dynamic/bcsi:")]
    assert sorted(u.split("bcsi:")[1].split(":")[0] for u in updates) == ["LicenseAssignment", "RoleAssignment"], preview
    assert re.search(r"-\s+\[2\]: \"carla@contoso.com\"", preview), preview          # licence: carla removed
    assert re.search(r"\+\s+\[\d\]: \{[^}]*carla@contoso.com", preview, re.S), preview  # role: carla added
    assert f"licence {SALES}: -carla@contoso.com" in preview, preview

    cloud.reset_metrics()
    stack.run("up", "--yes", "--skip-preview")
    assert cloud.metrics()["writes"] == 2   # one assignLicense, one role association
    outputs = stack.outputs()
    assert outputs["licenseAssignments"] == {SALES: ["ann@contoso.com", "bob@contoso.com"]}
    assert outputs["roleAssignments"]["Product Availability User"] == ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]
    graph = clients_for(connection("sandbox", sandbox_dir=cloud.data_dir)).graph
    assert graph.get("/users/carla@contoso.com", params={"$select": "assignedLicenses"})["assignedLicenses"] == [
        {"disabledPlans": [], "skuId": "2880026b-2b0c-4251-8656-5d41ff11e3aa"}]   # her BC licence only

    cloud.reset_metrics()
    stack.run("up", "--yes")
    assert cloud.metrics()["writes"] == 0
    stack.run("preview", "--expect-no-changes")

    stack.run("destroy", "--yes")
    holders = graph.list("/users", params={"$filter": "assignedLicenses/any(x:x/skuId eq 1e1a282c-9c54-43a2-9310-98ef728faace)",
                                           "$select": "userPrincipalName"})
    assert holders == []   # destroy takes back the Sales licences it handed out
