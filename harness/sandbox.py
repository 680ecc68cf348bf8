"""Runs the sandbox cloud as a real subprocess (`bcsi sandbox serve`), the way users and pipelines do.

`start_sandbox(dir, ...)` returns a `RunningSandbox`; tests (tests/conftest.py, tests/sandboxkit.py) and the
benchmarks (bench/cloud.py) use it.
TLS: the sandbox CA is passed per request (`verify=ca_file`), because REQUESTS_CA_BUNDLE in the environment
overrides a Session's `verify`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import msal
import requests

from harness.process import ServerProcess, start_server

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 60


class VerifiedSession(requests.Session):
    """A requests.Session that verifies against one CA file on every request and resolves relative URLs."""

    def __init__(self, ca_file: str, base_url: str = ""):
        super().__init__()
        self.ca_file = ca_file
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        kwargs["verify"] = self.ca_file
        kwargs.setdefault("timeout", 30)
        if url.startswith("/"):
            url = self.base_url + url
        return super().request(method, url, *args, **kwargs)


def serve_command() -> list[str]:
    """`bcsi sandbox serve` from the venv when installed, else `python -m sandbox serve`."""
    bcsi = Path(sys.executable).with_name("bcsi")
    return [str(bcsi), "sandbox", "serve"] if bcsi.exists() else [sys.executable, "-m", "sandbox", "serve"]


class SandboxStartError(RuntimeError):
    pass


class RunningSandbox(ServerProcess):
    """One `bcsi sandbox serve` process, its data dir and endpoints; a context manager that stops it."""

    def __init__(self, data_dir: Path, seed=None, latency_ms: int = 0, faults: str | None = None,
                 extra_args=(), port: int = 0):
        self.data_dir = Path(data_dir)
        self.seed, self.latency_ms, self.faults, self.extra_args = seed, latency_ms, faults, tuple(extra_args)
        self.port = port
        self.process: subprocess.Popen | None = None
        self.endpoints: dict = {}
        self._msal_apps: dict = {}

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> "RunningSandbox":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = serve_command() + ["--port", str(self.port), "--data", str(self.data_dir)]
        if self.seed:
            args += ["--seed", str(self.seed)]
        if self.latency_ms:
            args += ["--latency-ms", str(self.latency_ms)]
        if self.faults:
            args += ["--faults", self.faults]
        args += list(self.extra_args)
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.serve.log"
        self.process = start_server(args, self.log_file, cwd=str(ROOT), env=dict(os.environ, PYTHONUNBUFFERED="1"))
        line = self._read_ready_line()
        try:
            self.endpoints = json.loads(line)
        except ValueError:
            self._fail(f"sandbox printed no endpoints JSON (got {line!r})")
        self.port = int(self.endpoints["admin"].split(":")[2].split("/")[0])
        self._msal_apps.clear()
        return self

    def _read_ready_line(self) -> str:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline().decode()), daemon=True)
        reader.start()
        reader.join(STARTUP_TIMEOUT_S)
        if not result or not result[0].strip():
            self._fail("sandbox did not become ready")
        return result[0]

    def _fail(self, what: str) -> None:
        self.stop()
        log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        raise SandboxStartError(f"{what}; serve log ({self.log_file}):\n{log[-4000:]}")

    # -- helpers -------------------------------------------------------------------------------
    @property
    def ca_file(self) -> str:
        return self.endpoints["ca_file"]

    @property
    def base_url(self) -> str:
        return self.endpoints["admin"].rsplit("/_sandbox", 1)[0]

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def session(self) -> VerifiedSession:
        return VerifiedSession(self.ca_file, self.base_url)

    def metrics(self) -> dict:
        response = requests.get(self.endpoints["admin"] + "/metrics", verify=self.ca_file, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset_metrics(self) -> None:
        requests.post(self.endpoints["admin"] + "/metrics/reset", verify=self.ca_file, timeout=10).raise_for_status()

    def settings(self, **values) -> dict:
        """PATCH /_sandbox/settings (e.g. tokenLifetimeSeconds=5); {} resets nothing, returns the current ones."""
        response = requests.patch(self.endpoints["admin"] + "/settings", json=values, verify=self.ca_file, timeout=10)
        response.raise_for_status()
        return response.json()

    def msal_app(self, client_id: str | None = None, credential=None) -> msal.ConfidentialClientApplication:
        """An msal client for this sandbox (instance discovery off, the sandbox CA on every request)."""
        client_id = client_id or self.endpoints["client_id"]
        credential = credential if credential is not None else self.endpoints["client_secret"]
        return msal.ConfidentialClientApplication(
            client_id, client_credential=credential, authority=self.endpoints["authority"],
            instance_discovery=False, http_client=VerifiedSession(self.ca_file))

    def admin_token(self, scope: str) -> str:
        """An access token of the seeded admin app for `scope` (e.g. "https://graph.microsoft.com/.default")."""
        app = self._msal_apps.get("admin")
        if app is None:
            app = self._msal_apps["admin"] = self.msal_app()
        result = app.acquire_token_for_client([scope])
        if "access_token" not in result:
            raise RuntimeError(f"sandbox token error: {result.get('error')}: {result.get('error_description', '')[:200]}")
        return result["access_token"]


def start_sandbox(tmp_dir, seed=None, latency_ms: int = 0, faults: str | None = None, extra_args=()) -> RunningSandbox:
    """Serve a sandbox with its data in `tmp_dir` (created); the caller stops it (or uses `with`)."""
    return RunningSandbox(Path(tmp_dir), seed=seed, latency_ms=latency_ms, faults=faults, extra_args=extra_args).start()
