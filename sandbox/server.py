"""`bcsi sandbox serve`: the HTTPS server around the sandbox app, its data dir, endpoints.json and readiness line."""
from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import signal
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox import consistency
from sandbox import seed as seeding
from sandbox.app import App, FaultSpec, Service
from sandbox.ca import CertificateAuthority
from sandbox.identity.tokens import SigningKey
from sandbox.store import Store

# Service packages in seeding and routing order; a package not (yet) in the tree is skipped.
SERVICE_PACKAGES = ["sandbox.identity", "sandbox.graph", "sandbox.dataverse", "sandbox.bc"]


def load_services() -> list[Service]:
    services = []
    for name in SERVICE_PACKAGES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        service = getattr(module, "SERVICE", None)
        if service is not None:
            services.append(service)
    from sandbox import admin

    services.append(admin.build_service())
    return services


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log on stderr (thousands of lines in tests); errors still go to stderr."""


    def log_request(self, code="-", size="-") -> None:
        return None

    def setup(self) -> None:
        """TCP_NODELAY: headers and body go out as separate TLS records; Nagle would hold the body ~20-40 ms."""
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


@dataclass
class Sandbox:
    """A configured, not yet listening sandbox (the server is built by `listen`)."""

    data_dir: Path
    seed_file: Path | None = None
    latency_ms: int = 0
    faults: str | None = None
    port: int = 0
    delays: str | None = None        # --delays: replaces the seeded replication delays (sandbox/consistency.py)
    batch_order: str | None = None   # --batch-order: request | shuffle:SEED

    def listen(self):
        self.data_dir = Path(self.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fault_spec = FaultSpec.parse(self.faults)
        self._check_consistency_options()
        ca = CertificateAuthority(self.data_dir)
        cert_file, key_file = ca.server_files()
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(str(cert_file), str(key_file))
        self.store = Store(self.data_dir / "state.db")
        services = load_services()
        signing_key = SigningKey(self.data_dir)
        app = App(self.store, services, tenant_id="", verify_token=signing_key.verify,
                  latency_ms=self.latency_ms, faults=fault_spec)
        app.signing_key = signing_key
        self.server = make_server("127.0.0.1", self.port, app, threaded=True, ssl_context=ssl_context,
                                  request_handler=_QuietHandler)
        port = self.server.server_port
        app.base_url = f"https://127.0.0.1:{port}"
        if not seeding.is_seeded(self.store):
            seed = seeding.load_seed(self.seed_file)
            seeding.apply_seed(self.store, services, seed, self.seed_file or seeding.DEFAULT_SEED, app.base_url)
        app.tenant_id = seeding.tenant(self.store)["id"]
        self._override_consistency()
        self.app = app
        self.endpoints = endpoints(self.store, app.base_url, ca.ca_file)
        # atomic: scripts poll for a non-empty endpoints.json and must never read half of it
        partial = self.data_dir / "endpoints.json.tmp"
        partial.write_text(json.dumps(self.endpoints, indent=2) + "\n")
        os.replace(partial, self.data_dir / "endpoints.json")
        return self

    def _check_consistency_options(self) -> None:
        """Bad --delays / --batch-order fail before anything listens or is written."""
        if self.delays is not None:
            consistency.with_delays(consistency.Consistency(), self.delays)
        if self.batch_order is not None:
            consistency.with_batch_order(consistency.Consistency(), self.batch_order)

    def _override_consistency(self) -> None:
        if self.delays is None and self.batch_order is None:
            return
        settings = consistency.load(self.store)
        if self.delays is not None:
            settings = consistency.with_delays(settings, self.delays)
        if self.batch_order is not None:
            settings = consistency.with_batch_order(settings, self.batch_order)
        consistency.save(self.store, settings)

    def serve_forever(self) -> None:
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self.server.server_close()
            self.store.close()


def endpoints(store, base_url: str, ca_file: Path) -> dict:
    """The endpoints object `bcsi sandbox serve` prints and writes (sandbox/README.md, "Server")."""
    tenant_id = seeding.tenant(store)["id"]
    advertised = store.get(seeding.META, "advertised") or {}
    org, environment = advertised.get("org"), advertised.get("environment")
    return {
        "authority": f"{base_url}/{tenant_id}",
        "tenant_id": tenant_id,
        "graph": f"{base_url}/v1.0",
        "dataverse": f"{base_url}/orgs/{org}" if org else None,
        "business_central": f"{base_url}/bc/v2.0/{tenant_id}/{environment}/api/v2.0" if environment else None,
        "ca_file": str(ca_file),
        "client_id": advertised.get("client_id"),
        "client_secret": advertised.get("client_secret"),
        "admin": f"{base_url}/_sandbox",
    }


def serve(data_dir: Path, port: int, seed_file: Path | None = None, latency_ms: int = 0, faults: str | None = None,
          delays: str | None = None, batch_order: str | None = None) -> None:
    """Listen, announce readiness (endpoints.json + one JSON line on stdout), serve until SIGTERM/SIGINT."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sandbox = Sandbox(data_dir=data_dir, seed_file=seed_file, latency_ms=latency_ms, faults=faults, port=port,
                      delays=delays, batch_order=batch_order).listen()

    def stop(signum, frame):  # serve_forever returns; safe even before it started
        threading.Thread(target=sandbox.server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(json.dumps(sandbox.endpoints) + "\n")
    sys.stdout.flush()
    sandbox.serve_forever()
