"""What the servers the harness starts (the sandbox, Azurite) share: each dies with the process that started it,
stops gently, and restarts on its own data."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the test process dies without teardown (no orphaned servers)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_server(args: list[str], log_path, **popen) -> subprocess.Popen:
    """Starts `args` with stdout piped (for its ready line), stderr appended to `log_path`, tied to this process."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log,
                                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None, **popen)


def _terminate(process: subprocess.Popen | None) -> None:
    """SIGTERM (a clean shutdown: the server saves its state), then SIGKILL if it does not end within 10 s."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if process.stdout:
        process.stdout.close()


class ServerProcess:
    """A server subprocess the harness owns: `start()` (the subclass's) returns self once it is ready; `stop()`,
    `restart()` on the same data dir and port, and `with` stops it."""

    process: subprocess.Popen | None = None

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        process, self.process = self.process, None
        _terminate(process)

    def restart(self):
        """Stop and serve the same data dir again on the same port (URLs stay valid)."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (Linux /proc), nearest first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, IndexError, ValueError):
            continue
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(0), [])
        found += below
        todo += below
    return found


def kill_tree(pid: int) -> list[int]:
    """SIGKILL `pid`, its process group and every process below it, as a lost machine loses them all. The Pulumi
    CLI starts its language host and provider plugins in process groups of their own, so killing the CLI's group
    alone leaves them running, orphaned, and able to go on sending requests. Returns the processes found below."""
    try:
        os.kill(pid, signal.SIGSTOP)   # no new plugin starts while the tree is read
    except ProcessLookupError:
        return []
    below = descendants(pid)
    for target in (pid, *below):
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return below


def alive(pids, wait: float = 5.0) -> list[int]:
    """The processes of `pids` still running after up to `wait` seconds (a signal is delivered, not awaited; a
    zombie waiting to be reaped is not running)."""
    deadline = time.monotonic() + wait
    while True:
        running = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                running.append(pid)
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.05)
