"""bench's breakdown of wall time: the arithmetic of its columns and the /proc process watcher behind our CPU
and peak memory (bench/report.py, bench/processes.py)."""
from __future__ import annotations

import sys

import pytest

from bench.processes import run_watched
from bench.report import Result, breakdown_table

pytestmark = pytest.mark.sandbox


def test_breakdown_columns_add_up_to_the_wall_time():
    r = Result(1000, "bcsi", "first-up", 88, 20.0, engine_fixed=8.0, our_cpu=3.0, latency=4.0, sandbox=1.5,
               http_wall=5.5, peak_rss_mb=120.0)
    assert r.gap == pytest.approx(20.0 - 8.0 - 3.0 - 5.5)
    assert r.product_part == pytest.approx(18.5) and r.floor == pytest.approx(12.0)
    assert "| 1,000 | bcsi | first-up | 20.0 | 8.0 | 3.0 | 4.0 | 1.5 | 3.5 | 18.5 | 12.0 | 1.5× | 8% | 120 |" \
        in breakdown_table([r])


def test_watcher_sees_cpu_time_and_peak_memory_of_grandchildren():
    """A grandchild (as the engine's provider processes are to the bench) that burns about 0.5 s of CPU and
    holds about 200 MB: both are seen, though the grandchild ends before its parent."""
    burn = "import time; b = bytearray(200 * 2**20); t = time.process_time()\nwhile time.process_time() - t < 0.5: pass"
    parent = f"import subprocess, sys, time; subprocess.run([sys.executable, '-c', {burn!r}]); time.sleep(0.3)"
    proc, stats = run_watched([sys.executable, "-c", parent], timeout=60)
    assert proc.returncode == 0
    assert 0.3 <= stats.cpu_seconds_of("bytearray") <= 1.0
    assert 190 <= stats.peak_rss_mb_of("bytearray") <= 400


def test_a_bench_stack_keeps_its_member_lists_in_files_the_settings_read(tmp_path):
    """Past about 1,650 users inline lists no longer fit the one environment variable (PULUMI_CONFIG) the engine
    passes the program the config in (Linux: 128 KiB per string): the bench writes every list to a member file, and
    the settings every reader uses read the whole lists back."""
    import yaml

    from bench.stack import BenchStack
    from provisioning.settings import load_stack
    from provisioning.settings.member_files import ENGINE_CONFIG_LIMIT, engine_config_size

    stack = BenchStack(tmp_path / "large", 2000, tmp_path / "sandbox")
    assert engine_config_size(stack.config) > ENGINE_CONFIG_LIMIT
    written = yaml.safe_load(stack.stack_file.read_text())
    assert written["encryptionsalt"] and engine_config_size(written["config"]) < 2000
    assert written["config"]["bcsi:roles"]["Integration User"] == {"file": "stacks/members/bench/role-integration-user.txt"}
    settings = load_stack(stack.project, "bench")
    assert list(settings.roles["Integration User"]) == stack.config["bcsi:roles"]["Integration User"]
    assert list(settings.licenses["DYN365_ENTERPRISE_SALES"].users) == stack.config["bcsi:licenses"]["DYN365_ENTERPRISE_SALES"]["users"]
