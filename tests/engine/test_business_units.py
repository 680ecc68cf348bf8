"""A salesperson in a child business unit through the real engine: the sandbox stack's `up` gives bob (in the default
seed's unit "Sales Europe") that unit's copy of Product Availability User, and `pulumi preview --refresh` shows it
when the copy is taken away by hand."""
from __future__ import annotations

import pytest

from mscloud.connection import clients_for, connection
from tests.enginekit import sandbox_project_stack

pytestmark = pytest.mark.engine

SALES_EUROPE = "6a2e9c41-7b3d-4f58-8e0a-1c9d2b7f5e63"
PRODUCT_AVAILABILITY_USER = "e1f0c3a4-5b6d-4c7e-8f90-a1b2c3d4e5f6"   # the sample package's id for the role


def bobs_copy(dataverse) -> tuple[str, str | None]:
    """(bob's systemuserid, the Sales Europe copy of Product Availability User he holds, or None)."""
    bob = dataverse.list("systemusers", select=["systemuserid", "_businessunitid_value"],
                         filter="domainname eq 'bob@contoso.com'",
                         expand="systemuserroles_association($select=roleid,_parentrootroleid_value,"
                                "_businessunitid_value)")[0]
    assert bob["_businessunitid_value"] == SALES_EUROPE
    copies = [r["roleid"] for r in bob["systemuserroles_association"]
              if r["_parentrootroleid_value"] == PRODUCT_AVAILABILITY_USER and r["_businessunitid_value"] == SALES_EUROPE]
    return bob["systemuserid"], (copies[0] if copies else None)


def test_a_salesperson_in_a_child_unit_gets_the_role_and_refresh_sees_it_taken_away(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_project_stack(tmp_path, cloud)
    dataverse = clients_for(connection("sandbox", sandbox_dir=cloud.data_dir)).dataverse(cloud.endpoints["dataverse"])

    stack.run("up", "--yes", "--skip-preview")
    assert stack.outputs()["roleAssignments"]["Product Availability User"] == ["ann@contoso.com", "bob@contoso.com"]
    bob, copy = bobs_copy(dataverse)
    assert copy is not None and copy != PRODUCT_AVAILABILITY_USER
    stack.run("preview", "--refresh", "--expect-no-changes")

    dataverse.disassociate("systemusers", bob, "systemuserroles_association", copy)
    drift = stack.run("preview", "--refresh", "--diff", "--expect-no-changes", check=False)
    assert drift.returncode != 0
    assert "bob@contoso.com" in drift.stdout + drift.stderr
    stack.run("up", "--yes", "--refresh")
    assert bobs_copy(dataverse)[1] == copy
