"""Runs every scenario of both approaches for one N, each approach on its own freshly seeded sandbox."""
from __future__ import annotations

import shutil
from pathlib import Path

from bench.cloud import measure, start_seeded
from bench.per_user import PerUserTool
from bench.report import Result
from bench.stack import BenchStack


def run_bcsi(work_dir: Path, n: int, latency_ms: int, say=print) -> list[Result]:
    """first up, no-change `preview --refresh`, one user added to one role (`up`), `bcsi plan`, and `bcsi export`
    of what is then in the tenant (bcsi only: a per-user tool has no export)."""
    cloud = start_seeded(work_dir / "cloud", n, latency_ms)
    try:
        stack = BenchStack(work_dir, n, cloud.data_dir)
        steps = [("first-up", stack.up), ("noop-preview", stack.noop_preview),
                 ("one-change", stack.add_one_user_to_one_role), ("plan", stack.plan), ("export", stack.export)]
        return [_step(cloud, n, "bcsi", scenario, action, say) for scenario, action in steps]
    finally:
        cloud.stop()


def run_per_user(work_dir: Path, n: int, latency_ms: int, say=print) -> list[Result]:
    """The same four scenarios done per user (bench/per_user.py); each scenario is a fresh tool run."""
    cloud = start_seeded(work_dir / "cloud", n, latency_ms)
    try:
        def tool_run(method):
            return lambda: getattr(PerUserTool(cloud.data_dir), method)(n)

        steps = [("first-up", tool_run("first_up")), ("noop-preview", tool_run("noop_preview")),
                 ("one-change", tool_run("one_change")), ("plan", tool_run("plan"))]
        return [_step(cloud, n, "per-user", scenario, action, say) for scenario, action in steps]
    finally:
        cloud.stop()


def run_size(out_dir: Path, n: int, latency_ms: int, say=print) -> list[Result]:
    work = out_dir / "work" / f"n{n}"
    shutil.rmtree(work, ignore_errors=True)
    return run_bcsi(work / "bcsi", n, latency_ms, say) + run_per_user(work / "per-user", n, latency_ms, say)


def _step(cloud, n: int, approach: str, scenario: str, action, say) -> Result:
    _, m = measure(cloud, action)
    say(f"N={n:>5} {approach:8} {scenario:12} {m.requests:>6} requests {m.seconds:8.1f} s")
    return Result(n, approach, scenario, m.requests, m.seconds, m.writes, m.by_route)
