"""What the servers the harness starts (the sandbox, Azurite) share: each dies with the process that started it,
stops gently, and restarts on its own data."""
from __future__ import annotations

import signal
import subprocess
import sys


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
