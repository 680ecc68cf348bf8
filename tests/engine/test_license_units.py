"""license-units-not-exceeded through the real engine: the sandbox stack lists more users than its Sales SKU has
free units, and `pulumi preview --policy-pack policies` stops it — before any write — because the
LicenseAssignment provider's check adds `availableUnits` to the inputs the pack sees. After an `up` within the
units, a no-change preview stays a no-change (availableUnits does not move when the resource itself assigns)."""
from __future__ import annotations

import pytest
import yaml

from mscloud.connection import connection
from provisioning.licenses import LicenseAssignmentProvider
from tests.engine.test_reliability import console, sandbox_stack
from tests.engine.test_sandbox_stack import SALES, edit_stack
from tests.enginekit import ROOT

pytestmark = pytest.mark.engine

RULE = "license-units-not-exceeded"
RESOURCE = "license-dyn365_enterprise_sales"


def two_unit_seed(path):
    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    for sku in seed["graph"]["skus"]:
        if sku["skuPartNumber"] == SALES:
            sku["prepaidUnits"] = 2
    path.write_text(yaml.safe_dump(seed, sort_keys=False))
    return path


def set_users(project, users):
    edit_stack(project, lambda c: c["bcsi:licenses"][SALES].update(users=list(users)))


def test_preview_blocks_more_users_than_free_units_and_a_fitting_stack_stays_unchanged(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox", seed=two_unit_seed(tmp_path / "seed.yaml"))
    stack = sandbox_stack(tmp_path, cloud)
    pack = ("--policy-pack", str(ROOT / "policies"))
    three = ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]   # the sandbox stack's own list

    cloud.reset_metrics()
    blocked = stack.run("preview", *pack, check=False)
    flat = " ".join(console(blocked).split())
    assert blocked.returncode != 0, flat
    assert RULE in flat and f"{RESOURCE}: licence SKU '{SALES}' is assigned to 3 users" in flat, flat
    assert "only 2 units are available" in flat, flat
    assert cloud.metrics()["writes"] == 0

    set_users(stack.project_dir, three[:2])
    stack.run("up", "--yes", *pack)
    quiet = stack.run("preview", "--refresh", "--expect-no-changes", *pack, check=False)
    assert quiet.returncode == 0 and RULE not in console(quiet), console(quiet)

    # now both units are consumed by this resource's own users: it may still hold 2, not 3
    set_users(stack.project_dir, three)
    cloud.reset_metrics()
    again = " ".join(console(stack.run("preview", *pack, check=False)).split())
    assert RULE in again and "assigned to 3 users" in again and "only 2 units are available" in again, again
    assert cloud.metrics()["writes"] == 0

    # a SKU the tenant does not have fails the check itself, naming what the tenant has
    checked = LicenseAssignmentProvider().check({}, {
        "connection": connection("sandbox", sandbox_dir=cloud.data_dir), "skuPartNumber": "SPE_E5",
        "users": ["ann@contoso.com"]})
    [failure] = checked.failures
    assert failure.property == "skuPartNumber" and "no subscription for SKU SPE_E5" in failure.reason
    assert "DYN365_ENTERPRISE_SALES" in failure.reason and "availableUnits" not in checked.inputs
