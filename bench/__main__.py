"""`python -m bench [--n N]...`: both approaches for N = 10, 100, 1,000 (or the sizes given, 10,000 included); the
empty-program reference first; tables + results.json."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.reference import measure_reference  # noqa: E402
from bench.report import breakdown_table, markdown_table, reference_table, write_json  # noqa: E402
from bench.run import run_size  # noqa: E402

DEFAULT_SIZES = (10, 100, 1000)
DEFAULT_LATENCY_MS = 50


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(
        "Benchmark bcsi (the real program through the real engine) against a per-user baseline on sandboxes "
        "seeded with N users: HTTP requests (sandbox metrics) and wall time for first up, no-change "
        "`preview --refresh`, one user added to one role, and `bcsi plan`; where the wall time went (engine fixed "
        "cost from an empty program, our CPU, HTTP latency, sandbox processing, gaps). The per-user baseline runs "
        "only up to N = 1,000."))
    parser.add_argument("--n", type=int, action="append", metavar="N",
                        help="number of users (repeatable); default 10, 100 and 1000")
    parser.add_argument("--latency-ms", type=int, default=DEFAULT_LATENCY_MS,
                        help="sandbox latency per request (default 50)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="output directory (default bench/out)")
    args = parser.parse_args(argv)
    sizes = args.n or list(DEFAULT_SIZES)
    if any(n < 2 for n in sizes):
        parser.error("--n must be at least 2 (the one-change scenario adds the last user to a role)")

    results = []
    say = lambda line: print(line, flush=True)  # noqa: E731
    try:
        reference = measure_reference(args.out / "work" / "reference")
        (args.out / "reference.json").write_text(json.dumps([asdict(r) for r in reference.values()], indent=2) + "\n")
        say(reference_table(reference))
        for n in sizes:
            results += run_size(args.out, n, args.latency_ms, reference, say=say)
            write_json(results, args.out / "results.json")
    except Exception as error:  # noqa: BLE001 - one clear line; the step's full output goes to a log file
        log = args.out / "error.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"{type(error).__name__}: {error}\n")
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"bench: {first} (details in {log})", file=sys.stderr)
        return 1
    print()
    print(f"latency {args.latency_ms} ms per request; results in {args.out / 'results.json'}")
    print()
    print(markdown_table(results), end="")
    print()
    print(breakdown_table(results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
