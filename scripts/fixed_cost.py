"""Our share of a Pulumi command's fixed cost: `python scripts/fixed_cost.py [--runs 5] [--n 10]`.

Issue #22's yardstick, in one sitting and one venv: the no-change `pulumi preview` of an empty Python program
(`pulumi.export("x", 1)`) against the no-change preview of the bench stack at N users, without and with
`--policy-pack policies`, after one `up`. Runs alternate so that a busy machine slows every row alike; medians.
The stack is bench/'s (bench.stack.BenchStack on a sandbox seeded by bench.cloud), so nothing here is new machinery.

Two more rows give the floor of any stack built the way this one must be (dynamic resources, a Python policy pack
in the pipelines): one dynamic resource that does nothing, without and with a one-rule pack that checks nothing.
What those rows cost over the empty program is Pulumi's (two more processes), not ours.
"""
from __future__ import annotations

import argparse
import compileall
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cloud import start_seeded  # noqa: E402
from bench.stack import BenchStack  # noqa: E402
from harness.engine import Stack, python_project  # noqa: E402

EMPTY_PROGRAM = 'import pulumi\n\npulumi.export("x", 1)\n'
NOOP_DYNAMIC_PROGRAM = '''import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Nothing(ResourceProvider):
    def create(self, inputs):
        return CreateResult("nothing", inputs)


class NothingResource(Resource):
    def __init__(self, name):
        super().__init__(Nothing(), name, {})


NothingResource("nothing")
pulumi.export("x", 1)
'''
NOOP_PACK = '''from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

PolicyPack("nothing", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="nothing", description="checks nothing", validate=lambda args, report: None)])
'''


def noop_pack(directory: Path) -> Path:
    """A Python policy pack with one rule that checks nothing, in the project's venv."""
    python_project(directory, "nothing", NOOP_PACK)
    (directory / "PulumiPolicy.yaml").write_text((directory / "Pulumi.yaml").read_text().replace(
        "name: nothing\n", "description: checks nothing\nversion: 0.1.0\n"))
    (directory / "Pulumi.yaml").unlink()
    return directory


def seconds(stack: Stack, *args: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one no-change preview; CPU counts every process of the run (engine, language host,
    program, providers, pack), so it moves little when other work shares the machine."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    stack.run("preview", "--expect-no-changes", *args)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)


def print_table(rows: dict[str, list[tuple[float, float]]], n: int, runs: int) -> None:
    """Medians (the issue's yardstick), the fastest run (least disturbed by other work) and CPU, each also as a
    multiple of the empty program's."""
    def ratios(label: str) -> list[str]:
        cells = []
        for pick in (lambda r: statistics.median(w for w, _ in r), lambda r: min(w for w, _ in r),
                     lambda r: statistics.median(c for _, c in r)):
            mine, empty = pick(rows[label]), pick(rows["empty program"])
            cells += [f"{mine:.2f}", f"{mine / empty:.2f}"]
        return cells

    print(f"| no-change preview, N = {n}, {runs} runs | wall s (median) | x empty | fastest s | x empty "
          "| CPU s (median) | x empty |\n|---|---:|---:|---:|---:|---:|---:|")
    for label in rows:
        print(f"| {label} | " + " | ".join(ratios(label)) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/fixed_cost.py", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=10, help="users in the bench stack (default 10)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="no precompiled bytecode in the stack's copy (a checkout without `make venv`)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bcsi-fixed-cost-") as tmp:
        work = Path(tmp)
        cloud = start_seeded(work / "cloud", args.n, latency_ms=0)
        try:
            bench = BenchStack(work / "bench", args.n, cloud.data_dir)
            if not args.no_bytecode:   # the copy gets the bytecode `make venv` gives a checkout
                compileall.compile_dir(bench.project, quiet=1)
            bench.up()
            empty = Stack(python_project(work / "empty", "empty", EMPTY_PROGRAM), "empty", work / "empty-state")
            empty.init()
            empty.run("up", "--yes", "--skip-preview")
            noop = Stack(python_project(work / "noop", "noop", NOOP_DYNAMIC_PROGRAM), "noop", work / "noop-state")
            noop.init()
            noop.run("up", "--yes", "--skip-preview")
            pack = noop_pack(work / "noop-pack")
            rows = {"empty program": [], "one no-op dynamic resource": [],
                    "one no-op dynamic resource, one-rule pack": [], "stack": [], "stack --policy-pack policies": []}
            for _ in range(args.runs):
                rows["empty program"].append(seconds(empty))
                rows["one no-op dynamic resource"].append(seconds(noop))
                rows["one no-op dynamic resource, one-rule pack"].append(seconds(noop, "--policy-pack", str(pack)))
                rows["stack"].append(seconds(bench.stack))
                rows["stack --policy-pack policies"].append(
                    seconds(bench.stack, "--policy-pack", str(ROOT / "policies")))
        finally:
            cloud.stop()
    print_table(rows, args.n, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
