"""Runs every scenario of both approaches for one N, each approach on its own freshly seeded sandbox."""
from __future__ import annotations

import resource
import shutil
from pathlib import Path

from bench.cloud import Measurement, measure, start_seeded
from bench.per_user import PerUserTool
from bench.processes import PROGRAM_MARK
from bench.reference import REFERENCE_OF, ReferenceRun
from bench.report import Result
from bench.stack import BCSI_MARK, BenchStack

PER_USER_MAX_N = 1000   # the per-user baseline takes hours beyond this on two shared cores (bench/README.md)


def run_bcsi(work_dir: Path, n: int, latency_ms: int, reference: dict[str, ReferenceRun], say=print) -> list[Result]:
    """first up, no-change `preview --refresh`, one user added to one role (`up`), `bcsi plan`, and `bcsi export`
    of what is then in the tenant (bcsi only: a per-user tool has no export)."""
    cloud = start_seeded(work_dir / "cloud", n, latency_ms)
    try:
        stack = BenchStack(work_dir, n, cloud.data_dir)
        steps = [("first-up", stack.up), ("noop-preview", stack.noop_preview),
                 ("one-change", stack.add_one_user_to_one_role), ("plan", stack.plan), ("export", stack.export)]
        results = []
        for scenario, action in steps:
            _, m = measure(cloud, action)
            processes = stack.watcher.last
            engine = reference.get(REFERENCE_OF.get(scenario, ""))
            if scenario in ("plan", "export"):   # our CLI's own process is our code, start-up included
                cpu, peak = processes.cpu_seconds_of(BCSI_MARK), processes.peak_rss_mb_of(BCSI_MARK)
            else:   # providers, and the program beyond what the empty program's costs (that is engine fixed)
                program = processes.cpu_seconds_of(PROGRAM_MARK) - (engine.program_cpu_seconds if engine else 0.0)
                cpu, peak = processes.provider_cpu_seconds + max(program, 0.0), processes.provider_peak_rss_mb
            results.append(_result(m, n, "bcsi", scenario, engine.seconds if engine else 0.0, cpu, peak, say))
            results[-1].all_cpu = processes.cpu_seconds
        return results
    finally:
        cloud.stop()


def run_per_user(work_dir: Path, n: int, latency_ms: int, say=print) -> list[Result]:
    """The same four scenarios done per user (bench/per_user.py), in this process; each scenario is a fresh tool run."""
    cloud = start_seeded(work_dir / "cloud", n, latency_ms)
    try:
        results = []
        for scenario, method in (("first-up", "first_up"), ("noop-preview", "noop_preview"),
                                 ("one-change", "one_change"), ("plan", "plan")):
            cpu_before = _own_cpu_seconds()
            _, m = measure(cloud, lambda: getattr(PerUserTool(cloud.data_dir), method)(n))
            results.append(_result(m, n, "per-user", scenario, 0.0, _own_cpu_seconds() - cpu_before, None, say))
        return results
    finally:
        cloud.stop()


def run_size(out_dir: Path, n: int, latency_ms: int, reference: dict[str, ReferenceRun], say=print) -> list[Result]:
    work = out_dir / "work" / f"n{n}"
    shutil.rmtree(work, ignore_errors=True)
    results = run_bcsi(work / "bcsi", n, latency_ms, reference, say)
    if n <= PER_USER_MAX_N:
        results += run_per_user(work / "per-user", n, latency_ms, say)
    else:
        say(f"N={n:>5} per-user baseline skipped (above {PER_USER_MAX_N:,})")
    return results


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _result(m: Measurement, n: int, approach: str, scenario: str, engine_fixed: float, cpu: float,
            peak_rss_mb: float | None, say) -> Result:
    result = Result(n, approach, scenario, m.requests, m.seconds, m.writes, m.by_route, engine_fixed=engine_fixed,
                    our_cpu=cpu, latency=m.latency_wall, sandbox=m.processing_wall, http_wall=m.busy_wall,
                    peak_rss_mb=peak_rss_mb, sandbox_by_route=m.processing_by_route)
    say(f"N={n:>5} {approach:8} {scenario:12} {m.requests:>6} requests {m.seconds:8.1f} s  (sandbox {m.processing_wall:.1f} s, "
        f"our CPU {cpu:.1f} s, engine fixed {engine_fixed:.1f} s)")
    return result
