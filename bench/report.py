"""Results: one row per (n, approach, scenario); the markdown tables and bench/out/results.json."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCENARIOS = ("first-up", "noop-preview", "one-change", "plan", "export")
APPROACHES = ("bcsi", "per-user")


@dataclass
class Result:
    """One scenario's counts and where its wall time went (bench/README.md, "Where the time goes")."""

    n: int
    approach: str
    scenario: str
    requests: int
    seconds: float
    writes: int = 0
    by_route: dict = field(default_factory=dict)
    engine_fixed: float = 0.0      # the empty program's command of the same kind (bench/reference.py)
    our_cpu: float = 0.0           # CPU of our code: bcsi's providers and program (beyond the empty program's),
                                   # or the bcsi CLI process, or the per-user tool
    latency: float = 0.0           # wall time with a request in the sandbox's injected latency
    sandbox: float = 0.0           # wall time with a request in the sandbox's own processing
    http_wall: float = 0.0         # wall time with a request in the sandbox at all (latency or processing)
    peak_rss_mb: float | None = None   # the provider process's resident-set high-water mark (bcsi)
    all_cpu: float = 0.0           # CPU of every process of the command (engine, language host, program, ours)
    sandbox_by_route: dict = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """What is left: neither engine, nor our CPU, nor a request in flight (idle waits, serial hand-offs).
        Negative when our CPU overlaps requests in flight (threads) or the engine's work."""
        return self.seconds - self.engine_fixed - self.our_cpu - self.http_wall

    @property
    def product_part(self) -> float:
        """Wall minus the sandbox's processing: what a real cloud's processing would not replace."""
        return self.seconds - self.sandbox

    @property
    def floor(self) -> float:
        """The engine's fixed cost plus the latency of the requests as they were sent (overlapping ones once)."""
        return self.engine_fixed + self.latency

    def as_json(self) -> dict:
        """The issue's fields first ({n, approach, scenario, requests, seconds}); the rest are extra."""
        data = asdict(self)
        for key in ("seconds", "engine_fixed", "our_cpu", "latency", "sandbox", "http_wall", "all_cpu"):
            data[key] = round(data[key], 2)
        data["sandbox_by_route"] = {k: round(v, 3) for k, v in self.sandbox_by_route.items()}
        data.update(gap=round(self.gap, 2), product_part=round(self.product_part, 2), floor=round(self.floor, 2))
        return data


def write_json(results: list[Result], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n")


def markdown_table(results: list[Result]) -> str:
    """Both approaches side by side: one line per (n, scenario)."""
    by_key = {(r.n, r.approach, r.scenario): r for r in results}
    lines = ["| N | scenario | bcsi requests | per-user requests | bcsi s | per-user s |",
             "|---:|---|---:|---:|---:|---:|"]
    for n in sorted({r.n for r in results}):
        for scenario in SCENARIOS:
            ours, theirs = by_key.get((n, "bcsi", scenario)), by_key.get((n, "per-user", scenario))
            if ours is None and theirs is None:
                continue
            lines.append(f"| {n:,} | {scenario} | {_requests(ours)} | {_requests(theirs)} | "
                         f"{_seconds(ours)} | {_seconds(theirs)} |")
    return "\n".join(lines) + "\n"


def breakdown_table(results: list[Result]) -> str:
    """Where each scenario's wall time went, the floor, and the sandbox's share."""
    lines = ["| N | approach | scenario | wall s | engine fixed s | our CPU s | HTTP latency s | sandbox s | gap s | "
             "product part s | floor s | part / floor | sandbox share | provider peak MB |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    order = {name: i for i, name in enumerate(SCENARIOS)}
    for r in sorted(results, key=lambda r: (r.n, APPROACHES.index(r.approach), order.get(r.scenario, 99))):
        ratio = f"{r.product_part / r.floor:.1f}×" if r.floor > 0 else "–"
        share = f"{r.sandbox / r.seconds:.0%}" if r.seconds > 0 else "–"
        peak = f"{r.peak_rss_mb:,.0f}" if r.peak_rss_mb else "–"
        lines.append(f"| {r.n:,} | {r.approach} | {r.scenario} | {r.seconds:.1f} | {r.engine_fixed:.1f} | "
                     f"{r.our_cpu:.1f} | {r.latency:.1f} | {r.sandbox:.1f} | {r.gap:.1f} | {r.product_part:.1f} | "
                     f"{r.floor:.1f} | {ratio} | {share} | {peak} |")
    return "\n".join(lines) + "\n"


def reference_table(reference: dict) -> str:
    """The empty program's commands: the engine's fixed cost per command."""
    lines = ["| empty program (`pulumi.export(\"x\", 1)`) | wall s | CPU s (all processes) |", "|---|---:|---:|"]
    for run in reference.values():
        lines.append(f"| `pulumi {run.command}` | {run.seconds:.1f} | {run.cpu_seconds:.1f} |")
    return "\n".join(lines) + "\n"


def _requests(result: Result | None) -> str:
    return f"{result.requests:,}" if result else "–"


def _seconds(result: Result | None) -> str:
    return f"{result.seconds:.1f}" if result else "–"
