"""Results: one row per (n, approach, scenario); the markdown table and bench/out/results.json."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCENARIOS = ("first-up", "noop-preview", "one-change", "plan", "export")
APPROACHES = ("bcsi", "per-user")


@dataclass
class Result:
    n: int
    approach: str
    scenario: str
    requests: int
    seconds: float
    writes: int = 0
    by_route: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        """The issue's fields first ({n, approach, scenario, requests, seconds}); writes and by_route are extra."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
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


def _requests(result: Result | None) -> str:
    return f"{result.requests:,}" if result else "–"


def _seconds(result: Result | None) -> str:
    return f"{result.seconds:.1f}" if result else "–"
