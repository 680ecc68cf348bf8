"""`bcsi export` of an integration set up by hand (no stack): the exported file validates, the first `pulumi up`
sends no write, a preview expects no changes, `bcsi plan` says no changes, and the stack outputs are what was set
up by hand (README.md, "Bringing an existing setup under the stack").
"""
from __future__ import annotations

import subprocess

import pytest

from harness.handmade import INTEGRATION_APP, SALES_SKU, set_up_by_hand
from tests.enginekit import ROOT, VENV, Stack, copy_project

pytestmark = pytest.mark.engine

SAMPLE = "solutions/BcSalesIntegrationSample_1_0_0_0.zip"


def bcsi(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "bcsi"), *args, "--project-dir", str(stack.project_dir)],
                          cwd=stack.project_dir, env=stack.env, capture_output=True, text=True, timeout=300)


def test_export_of_a_hand_made_setup_adopts_it_without_a_write(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    by_hand = set_up_by_hand(cloud.data_dir, ROOT / SAMPLE, licensed=["ann@contoso.com", "carla@contoso.com"],
                             integration_user=["ann@contoso.com"],
                             product_availability=["ann@contoso.com", "bob@contoso.com"], groups=("Sales team",))
    project = copy_project(tmp_path / "project")
    stack = Stack(project, "handmade", tmp_path / "state", env_extra={"BCSI_SANDBOX_DIR": str(cloud.data_dir)})

    cloud.reset_metrics()
    exported = bcsi(stack, "export", "--stack", "handmade", "--cloud", "sandbox", "--sku", SALES_SKU,
                    "--bc-environment", "Production", "--bc-company", "CRONUS USA, Inc.", "--solution-path", SAMPLE)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "everything was adopted exactly" in exported.stdout
    assert cloud.metrics()["writes"] == 0
    text = (project / "stacks" / "Pulumi.handmade.yaml").read_text()
    assert "secret" not in text.lower().replace("secrets are never exported", "")
    assert "through the groups only (not listed under users): bob@contoso.com" in text

    validated = bcsi(stack, "validate", "--stack", "handmade")
    assert validated.returncode == 0, validated.stdout + validated.stderr

    stack.init()
    cloud.reset_metrics()
    stack.run("up", "--yes", "--skip-preview")
    assert cloud.metrics()["writes"] == 0, cloud.metrics()["writes_by_route"]
    stack.run("preview", "--expect-no-changes")
    planned = bcsi(stack, "plan", "--stack", "handmade")
    assert planned.returncode == 0 and "no changes" in planned.stdout, planned.stdout + planned.stderr

    outputs = stack.outputs()
    assert outputs["integrationPrincipal"] == INTEGRATION_APP
    assert outputs["solution"] == {"uniqueName": "BcSalesIntegrationSample", "version": "1.0.0.0"}
    assert outputs["roleAssignments"] == {
        "Integration Administrator": [INTEGRATION_APP],
        "Integration User": sorted([INTEGRATION_APP, *by_hand.integration_user]),
        "Product Availability User": by_hand.product_availability,
    }
    assert outputs["licenseAssignments"] == {SALES_SKU: by_hand.licensed}
    assert [(c["code"], c["salesUser"]) for c in outputs["couplings"]] == [("AH", "ann@contoso.com"),
                                                                           ("BK", "bob@contoso.com")]

    again = bcsi(stack, "export", "--stack", "handmade", "--cloud", "sandbox")
    assert again.returncode == 1 and again.stderr.strip().endswith("exists; pass --force to overwrite it")
