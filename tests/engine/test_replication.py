"""The sandbox stack through the real engine on a sandbox with every replication delay and the $batch shuffle on
(the default seed, sandbox/consistency.py).

- A first up whose licensed users do not exist in Dataverse yet succeeds in one run: dan has no usage location and
  no systemuser; the stack gives him one (usageLocation), a Sales licence and a role, and waits for Entra ID and
  Dataverse to catch up, saying what it waits for.
- A licence swap at full capacity (zero free units: one user out, another in) succeeds: the removal runs in a
  $batch before the addition that needs its unit.
"""
from __future__ import annotations

import pytest
import yaml

from tests.engine.test_reliability import console
from tests.engine.test_sandbox_stack import SALES, edit_stack
from tests.enginekit import ROOT, sandbox_project_stack

pytestmark = pytest.mark.engine


def add_dan(config, remove=None):
    sales = config["bcsi:licenses"][SALES]
    sales["users"] = [u for u in sales["users"] if u != remove] + ["dan@contoso.com"]
    sales["usageLocation"] = "US"
    config["bcsi:roles"]["Product Availability User"].append("dan@contoso.com")


def test_first_up_with_a_licensed_user_dataverse_has_not_synced_yet(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_project_stack(tmp_path, cloud)
    edit_stack(stack.project_dir, add_dan)

    up = stack.run("up", "--yes", "--skip-preview")
    outputs = stack.outputs()
    assert "dan@contoso.com" in outputs["licenseAssignments"][SALES]
    assert "dan@contoso.com" in outputs["roleAssignments"]["Product Availability User"]
    assert "waiting for Entra ID to apply the usage location of dan@contoso.com" in console(up), console(up)
    assert "waiting for Dataverse to sync dan@contoso.com from Entra ID" in console(up), console(up)
    stack.run("preview", "--expect-no-changes")


def test_a_licence_swap_at_full_capacity_survives_the_batch_shuffle(tmp_path, start_sandbox):
    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    for sku in seed["graph"]["skus"]:
        if sku["skuPartNumber"] == SALES:
            sku["prepaidUnits"] = 3          # ann, bob and carla take all of them
    assert seed["tenant"]["consistency"]["batchShuffleSeed"] is not None
    (tmp_path / "seed.yaml").write_text(yaml.safe_dump(seed, sort_keys=False))
    cloud = start_sandbox(tmp_path / "sandbox", seed=tmp_path / "seed.yaml")
    stack = sandbox_project_stack(tmp_path, cloud)
    stack.run("up", "--yes", "--skip-preview")

    edit_stack(stack.project_dir, lambda config: add_dan(config, remove="carla@contoso.com"))
    stack.run("up", "--yes", "--skip-preview")
    assert stack.outputs()["licenseAssignments"][SALES] == ["ann@contoso.com", "bob@contoso.com", "dan@contoso.com"]
