"""A sandbox seeded with N generated users, and request counting around one piece of work.

Every measured scenario starts from metrics reset to zero and reads `/_sandbox/metrics` afterwards, so the counts
are what went over the wire (token requests included), whichever process sent them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.sandbox import ROOT, RunningSandbox, start_sandbox

SALES_SKU = "DYN365_ENTERPRISE_SALES"
SPARE_UNITS = 50
TOKEN_ROUTE_SUFFIX = "/oauth2/v2.0/token"


def generated_upns(n: int, domain: str = "contoso.com") -> list[str]:
    """The users the sandbox seeds for `graph.generatedUsers: n` (user0001@…), each with a Dataverse systemuser."""
    return [f"user{i:04d}@{domain}" for i in range(1, n + 1)]


def seed_document(n: int) -> dict:
    """The default seed plus n generated users and enough Sales licences for all of them."""
    seed = yaml.safe_load((ROOT / "sandbox" / "seeds" / "default.yaml").read_text())
    seed["graph"]["generatedUsers"] = n
    for sku in seed["graph"]["skus"]:
        if sku["skuPartNumber"] == SALES_SKU:
            sku["prepaidUnits"] = n + SPARE_UNITS
    return seed


def start_seeded(work_dir: Path, n: int, latency_ms: int) -> RunningSandbox:
    """A private sandbox in work_dir/sandbox seeded with n users; the caller stops it."""
    work_dir.mkdir(parents=True, exist_ok=True)
    seed_file = work_dir / "seed.yaml"
    seed_file.write_text(yaml.safe_dump(seed_document(n), sort_keys=False))
    return start_sandbox(work_dir / "sandbox", seed=seed_file, latency_ms=latency_ms)


@dataclass
class Measurement:
    """What one scenario cost: HTTP requests (total and by route), state changes, wall time, and the sandbox's
    own account of its time (sandbox/app.py Metrics: wall time with a request in the injected latency, in the
    sandbox's processing, in either; processing seconds by route)."""

    requests: int
    seconds: float
    writes: int
    by_route: dict[str, int] = field(default_factory=dict)
    latency_wall: float = 0.0
    processing_wall: float = 0.0
    busy_wall: float = 0.0
    processing_by_route: dict[str, float] = field(default_factory=dict)

    @property
    def token_requests(self) -> int:
        return sum(n for route, n in self.by_route.items() if route.endswith(TOKEN_ROUTE_SUFFIX))

    @property
    def write_requests(self) -> int:
        """HTTP requests that may change state: every non-GET except token requests (a $batch counts once)."""
        return sum(n for route, n in self.by_route.items()
                   if not route.startswith("GET ") and not route.endswith(TOKEN_ROUTE_SUFFIX))

    def requests_to(self, path_fragment: str) -> int:
        return sum(n for route, n in self.by_route.items() if path_fragment in route)


def measure(cloud: RunningSandbox, work) -> tuple[object, Measurement]:
    """Runs work() between a metrics reset and a metrics read; returns (its result, the measurement)."""
    cloud.reset_metrics()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    metrics = cloud.metrics()
    timing = metrics.get("seconds", {})
    return result, Measurement(requests=int(metrics["total"]), seconds=seconds, writes=int(metrics.get("writes", 0)),
                               by_route=dict(metrics["requests"]), latency_wall=timing.get("latency_wall", 0.0),
                               processing_wall=timing.get("processing_wall", 0.0),
                               busy_wall=timing.get("busy_wall", 0.0),
                               processing_by_route=dict(timing.get("processing_by_route", {})))
