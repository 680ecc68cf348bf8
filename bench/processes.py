"""CPU time and peak memory of a command's processes, read from Linux /proc while the command runs.

The engine starts our dynamic providers (`python -m pulumi.dynamic`) and the Python program as its own children
and ends them itself, so no exit status or rusage of theirs reaches us; instead `run_watched` samples every
process under the command every POLL_S: CPU time (utime + stime, /proc/PID/stat) and the resident-set
high-water mark (VmHWM, /proc/PID/status). A process's last sample stands for its whole life, so CPU time
used in its last POLL_S is missed (at most POLL_S per process); VmHWM is a high-water mark, so the peak is exact
up to that last interval. Nothing in the product is changed to be measured.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.05
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROVIDER_MARK = "pulumi.dynamic"   # pulumi-resource-pulumi-python runs `python -u -m pulumi.dynamic`
PROGRAM_MARK = "pulumi-language-python-exec"   # the language host runs the program through this script


@dataclass
class Sample:
    command: str
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class ProcessStats:
    """Per process (by pid) its command line, CPU seconds and peak RSS; grouped by what the process is."""

    processes: dict[int, Sample] = field(default_factory=dict)

    def _matching(self, mark: str) -> list[Sample]:
        return [s for s in self.processes.values() if mark in s.command]

    @property
    def provider_cpu_seconds(self) -> float:
        """Our dynamic providers' CPU time (every provider process of the command)."""
        return sum(s.cpu_seconds for s in self._matching(PROVIDER_MARK))

    @property
    def provider_peak_rss_mb(self) -> float:
        return max((s.peak_rss_mb for s in self._matching(PROVIDER_MARK)), default=0.0)

    @property
    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds for s in self.processes.values())

    def cpu_seconds_of(self, mark: str) -> float:
        return sum(s.cpu_seconds for s in self._matching(mark))

    def peak_rss_mb_of(self, mark: str) -> float:
        return max((s.peak_rss_mb for s in self._matching(mark)), default=0.0)


def run_watched(args: list[str], timeout: float, **popen) -> tuple[subprocess.CompletedProcess, ProcessStats]:
    """subprocess.run(args, capture_output=True, text=True) that also samples the process tree under it."""
    stats = ProcessStats()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, text=True, **popen)
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            for pid in _tree(process.pid):
                _sample(pid, stats)
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise subprocess.TimeoutExpired(args, timeout)
            time.sleep(POLL_S)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, process.returncode, out.read(), err.read()), stats


def _tree(root: int) -> list[int]:
    """root and every descendant (through /proc/PID/task/TID/children)."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                queue += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def _sample(pid: int, stats: ProcessStats) -> None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return  # it ended between listing and reading
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS   # utime, stime (fields 14 and 15 of stat)
    rss = next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)
    sample = stats.processes.setdefault(pid, Sample(command))
    sample.command = command or sample.command   # an ended process (a zombie) has an empty command line
    sample.cpu_seconds = max(sample.cpu_seconds, cpu)
    sample.peak_rss_mb = max(sample.peak_rss_mb, rss)


class Watcher:
    """A runner for harness.engine.Stack.run (and any command): runs watched, keeps the last command's stats."""

    def __init__(self) -> None:
        self.last = ProcessStats()

    def __call__(self, args: list[str], timeout: float, **popen) -> subprocess.CompletedProcess:
        proc, self.last = run_watched(args, timeout, **popen)
        return proc
