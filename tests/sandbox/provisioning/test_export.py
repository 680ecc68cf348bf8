"""`bcsi export` against a sandbox over real HTTPS: a hand-made integration of 1,000 users exported in at most 25
requests and no write; per-user differences in disabled plans, a package of another version and a missing package
listed as not adopted; nothing to adopt is one line and exit 1; lists of more than 500 members written to member
files beside the stack file (an existing one only with --force). The CLI runs as a subprocess; nothing is patched.

Graph behaviours relied on: users and groups filtered by `assignedLicenses/any(x:x/skuId eq …)`
(https://learn.microsoft.com/graph/api/user-list, https://learn.microsoft.com/graph/api/resources/group), a user's
own plans in `licenseAssignmentStates` apart from its groups' (https://learn.microsoft.com/graph/api/resources/licenseassignmentstate).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from harness.handmade import SALES_SKU, set_up_by_hand
from mscloud.connection import clients_for, connection
from provisioning.export import SOLUTION_PLACEHOLDER, ExportRequest, export_stack
from provisioning.settings import load_stack
from tests.sandboxkit import ROOT, seed_with_licensed_users, start_sandbox

pytestmark = pytest.mark.sandbox

N = 1000
SAMPLE = "solutions/BcSalesIntegrationSample_1_0_0_0.zip"
NEWER = "solutions/BcSalesIntegrationSample_1_1_0_0.zip"
BULK = [f"user{i:04d}@contoso.com" for i in range(1, N + 1)]
BCSI = str(ROOT / ".venv" / "bin" / "bcsi")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """A sandbox whose 1,000 extra users hold Sales, set up by hand:
    the solution, the application user, Integration User for all, Product Availability User for all but one."""
    base = tmp_path_factory.mktemp("export")
    (base / "seed.yaml").write_text(yaml.safe_dump(seed_with_licensed_users(BULK, SALES_SKU)))
    project = base / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "solutions").mkdir()
    for package in (SAMPLE, NEWER):
        shutil.copy(ROOT / package, project / package)
    running = start_sandbox(base / "data", seed=base / "seed.yaml")
    try:
        set_up_by_hand(running.data_dir, ROOT / SAMPLE, licensed=[], integration_user=BULK,
                       product_availability=BULK[:-1])
        running.project = project
        yield running
    finally:
        running.stop()


def export(running, stack: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BCSI_SANDBOX_DIR": str(running.data_dir)}
    return subprocess.run([BCSI, "export", "--stack", stack, "--cloud", "sandbox", "--project-dir",
                           str(running.project), *args], env=env, capture_output=True, text=True, timeout=300)


def stack_config(running, stack: str) -> dict:
    return yaml.safe_load((running.project / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def test_1000_users_exported_in_at_most_25_requests_and_no_write(cloud):
    cloud.reset_metrics()
    proc = export(cloud, "bulk", "--sku", SALES_SKU, "--bc-environment", "Production", "--solution-path", SAMPLE)
    metrics = cloud.metrics()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert metrics["total"] <= 25, metrics["requests"]
    assert metrics["writes"] == 0
    config = stack_config(cloud, "bulk")
    assert config["bcsi:identity"] == {"mode": "existing", "app": {"appId": "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"}}
    # lists of more than 500 members go to member files beside the stack file; the settings read them back
    assert config["bcsi:licenses"] == {SALES_SKU: {"users": {"file": "stacks/members/bulk/license-dyn365_enterprise_sales.txt"}}}
    assert config["bcsi:roles"]["Integration User"] == {"file": "stacks/members/bulk/role-integration-user.txt"}
    settings = load_stack(cloud.project, "bulk")
    assert settings.licenses[SALES_SKU].users == tuple(sorted(BULK))
    assert settings.roles["Integration User"] == ("integration", *sorted(BULK))
    assert settings.roles["Product Availability User"] == tuple(sorted(BULK[:-1]))
    assert settings.roles["Integration Administrator"] == ("integration",)
    # the seeded salespersons AH and BK have the e-mails of ann and bob, who hold Salesperson; JR is blocked
    assert config["bcsi:salespersons"] == {"AH": "ann@contoso.com", "BK": "bob@contoso.com"}
    assert "everything was adopted exactly" in proc.stdout


def test_plans_differing_per_user_and_another_package_version_are_listed(cloud):
    clients = clients_for(connection("sandbox", sandbox_dir=cloud.data_dir))
    sku = next(s for s in clients.graph.list("/subscribedSkus") if s["skuPartNumber"] == SALES_SKU)
    plan = next(p for p in sku["servicePlans"] if p["servicePlanName"] == "DYN365_CDS_DYN_APPS")
    clients.graph.post(f"/users/{BULK[0]}/assignLicense", {
        "addLicenses": [{"skuId": sku["skuId"], "disabledPlans": [plan["servicePlanId"]]}], "removeLicenses": []})
    try:
        request = ExportRequest(stack="plans", cloud="sandbox", skus=(SALES_SKU,), solution_path=NEWER)
        result = export_stack(request, clients, cloud.project)
    finally:
        clients.graph.post(f"/users/{BULK[0]}/assignLicense", {
            "addLicenses": [{"skuId": sku["skuId"], "disabledPlans": []}], "removeLicenses": []})
    assert "disabledPlans" not in result.config["bcsi:licenses"][SALES_SKU]
    assert any("disabled plans differ per user (none; DYN365_CDS_DYN_APPS)" in line for line in result.not_adopted)
    assert any("1.0.0.0 is installed, the package is 1.1.0.0; the first `up` upgrades it" in line
               for line in result.not_adopted)


def test_without_a_package_the_placeholder_is_written_and_validate_refuses_it(cloud):
    proc = export(cloud, "placeholder")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bcsi:solution.path: an export cannot download the installed solution package" in proc.stdout
    assert stack_config(cloud, "placeholder")["bcsi:solution"]["path"] == SOLUTION_PLACEHOLDER
    validate = subprocess.run([BCSI, "validate", "--stack", "placeholder", "--project-dir", str(cloud.project)],
                              capture_output=True, text=True, timeout=120)
    assert validate.returncode == 1
    assert "bcsi:solution.path" in validate.stderr and SOLUTION_PLACEHOLDER in validate.stderr


def test_nothing_to_adopt_is_one_line_exit_1_and_no_file(tmp_path, start_sandbox):
    """A tenant without the integration solution: no role, no Integration Administrator holder."""
    running = start_sandbox(tmp_path / "empty")
    running.project = tmp_path / "project"
    proc = export(running, "empty")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "bcsi export: no user or application user holds Integration Administrator in Dataverse: set up the "
        "integration first (BC's assisted setup), or write the stack by hand"]
    assert not (running.project / "stacks" / "Pulumi.empty.yaml").exists()


def test_an_existing_member_file_needs_force_and_nothing_is_written(cloud):
    member_file = cloud.project / "stacks" / "members" / "again" / "role-integration-user.txt"
    member_file.parent.mkdir(parents=True)
    member_file.write_text("# kept\n")
    args = ("--sku", SALES_SKU, "--solution-path", SAMPLE)
    proc = export(cloud, "again", *args)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"bcsi export: {member_file} exists; pass --force to overwrite it"
    assert not (cloud.project / "stacks" / "Pulumi.again.yaml").exists() and member_file.read_text() == "# kept\n"
    proc = export(cloud, "again", *args, "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert load_stack(cloud.project, "again").roles["Integration User"] == ("integration", *sorted(BULK))
