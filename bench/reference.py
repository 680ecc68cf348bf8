"""The engine's fixed cost per command: an empty Pulumi Python program run the way the bench stack runs.

`pulumi.export("x", 1)` in the same venv, on the same kind of backend (a local file backend of its own), through
the same CLI flags: what any Python stack pays per command before its first resource. A scenario's "engine
fixed" is the reference command of the same kind (`REFERENCE_OF`).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bench.processes import PROGRAM_MARK, Watcher
from harness.engine import Stack, python_project

PROGRAM = 'import pulumi\n\npulumi.export("x", 1)\n'

# reference command -> pulumi arguments, in the order they run (the first `up` creates the stack's one resource)
COMMANDS = {
    "preview": ("preview",),
    "up": ("up", "--yes"),
    "preview --refresh": ("preview", "--refresh", "--expect-no-changes"),
    "stack output": ("stack", "output", "--json"),
}
# bench scenario -> the reference command its engine part corresponds to (export runs no engine command)
REFERENCE_OF = {"first-up": "up", "noop-preview": "preview --refresh", "one-change": "up", "plan": "stack output"}


@dataclass
class ReferenceRun:
    command: str
    seconds: float
    cpu_seconds: float   # every process of the command (CLI, language host, program)
    program_cpu_seconds: float = 0.0   # the Python program's process alone


def measure_reference(work_dir: Path) -> dict[str, ReferenceRun]:
    """Wall time of each reference command on a fresh empty-program stack."""
    shutil.rmtree(work_dir, ignore_errors=True)
    project = python_project(work_dir / "project", "empty", PROGRAM)
    stack = Stack(project, "reference", work_dir / "state")
    stack.init()
    watcher, runs = Watcher(), {}
    for name, args in COMMANDS.items():
        started = time.perf_counter()
        stack.run(*args, runner=watcher)
        seconds = time.perf_counter() - started
        runs[name] = ReferenceRun(name, seconds, watcher.last.cpu_seconds, watcher.last.cpu_seconds_of(PROGRAM_MARK))
    return runs
