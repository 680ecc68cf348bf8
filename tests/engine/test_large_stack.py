"""A stack of 2,000 users runs: its member lists come from member files, so the engine can start the program.

Inline, the three lists (licence, Integration User, Product Availability User) make the stack's config about
157 KB; the engine hands the program its config in one environment variable (PULUMI_CONFIG) and Linux refuses
one environment string over 128 KiB, so `pulumi preview` failed with `fork/exec .venv/bin/python: argument list
too long` (provisioning/settings/member_files.py). The bench's stack (bench/stack.py) writes every list to a
member file; here the real program previews and ups it against a sandbox seeded with the 2,000 users.
"""
from __future__ import annotations

import pytest
import yaml

from bench.cloud import start_seeded
from bench.stack import BenchStack
from provisioning.settings.member_files import ENGINE_CONFIG_LIMIT, engine_config_size

pytestmark = pytest.mark.engine

N = 2000


def test_a_stack_of_2000_users_in_member_files_previews_and_ups(tmp_path):
    cloud = start_seeded(tmp_path / "cloud", N, latency_ms=0)
    try:
        stack = BenchStack(tmp_path, N, cloud.data_dir)
        assert engine_config_size(stack.config) > ENGINE_CONFIG_LIMIT     # inline, the engine could not start it
        written = yaml.safe_load(stack.stack_file.read_text())["config"]
        assert written["bcsi:roles"]["Product Availability User"] == {
            "file": "stacks/members/bench/role-product-availability-user.txt"}
        preview = stack.pulumi("preview", "--diff")
        stack.up()    # raises unless exit 0
    finally:
        cloud.stop()
    assert preview.returncode == 0, preview.stdout[-3000:] + preview.stderr[-3000:]
    assert "argument list too long" not in preview.stdout + preview.stderr
    assert "user2000@contoso.com" in preview.stdout      # the members reached the program and its resources
    outputs = stack.stack.outputs()
    assert len(outputs["licenseAssignments"]["DYN365_ENTERPRISE_SALES"]) == N
    assert len(outputs["roleAssignments"]["Integration User"]) == N + 1
