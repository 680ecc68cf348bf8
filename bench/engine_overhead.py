"""What the Pulumi engine itself costs per resource: `python -m bench.engine_overhead [--k K]...`.

A throw-away project declares K dynamic resources whose provider does no I/O at all, so every second measured is
engine, language host and dynamic-provider overhead: the cost a one-resource-per-user model (K = N) would pay
before sending a single request. bcsi's stacks have a fixed handful of resources whatever N is.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.engine import Stack, python_project  # noqa: E402

# pulumi 3.259's serialize_provider wraps pickle._Pickler._batch_setitems once more for every dynamic resource and
# never unwraps it: past about 300 dynamic resources in one program, the nested wrappers raise RecursionError.
# A one-resource-per-user model in Python dynamic providers fails there outright; to measure the engine beyond
# it, this throw-away program restores the original method after each declaration (BENCH_REPAIR_PICKLER=0: no repair).
PROGRAM = '''
import os
import pickle
import pulumi
import pulumi.dynamic as dynamic


class Nothing(dynamic.ResourceProvider):
    def create(self, props):
        return dynamic.CreateResult(props["key"], props)

    def read(self, id_, props):
        return dynamic.ReadResult(id_, props)


class Member(dynamic.Resource):
    def __init__(self, name, key):
        super().__init__(Nothing(), name, {"key": key})


original = pickle._Pickler._batch_setitems
for i in range(int(os.environ["BENCH_K"])):
    Member(f"user-{i:05d}", f"user{i:05d}@contoso.com")
    if os.environ.get("BENCH_REPAIR_PICKLER", "1") == "1":
        pickle._Pickler._batch_setitems = original
'''


def measure_k(work: Path, k: int) -> dict:
    """Seconds of `up` (create K), no-change `preview --refresh` and `preview` for K no-I/O resources."""
    project = python_project(work / f"k{k}", f"overhead{k}", PROGRAM)
    stack = Stack(project, "overhead", work / f"state{k}", env_extra={"BENCH_K": str(k)})
    stack.init()
    seconds = {}
    for label, args in (("up", ("up", "--yes", "--skip-preview")),
                        ("noop-preview --refresh", ("preview", "--refresh", "--expect-no-changes")),
                        ("noop-preview", ("preview", "--expect-no-changes"))):
        started = time.perf_counter()
        stack.run(*args, timeout=3600)
        seconds[label] = round(time.perf_counter() - started, 1)
    return {"k": k, **seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, action="append", help="resources (repeatable); default 1, 100, 1000")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    rows = []
    for k in args.k or [1, 100, 1000]:
        rows.append(measure_k(args.out / "overhead", k))
        print(json.dumps(rows[-1]), flush=True)
    (args.out / "engine-overhead.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| resources | up s | no-change preview --refresh s | no-change preview s |\n|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['k']:,} | {row['up']} | {row['noop-preview --refresh']} | {row['noop-preview']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
