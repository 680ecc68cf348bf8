"""Calling the stack's dynamic providers directly against a running sandbox, with the inputs the engine passes.

Sandbox tests subclass `ProviderCloud` for their module's own helpers (metrics filters, out-of-band breakage).
"""
from __future__ import annotations

from contextlib import contextmanager

from harness.sandbox import start_sandbox
from mscloud.connection import clients_for, connection
from solution_import.package import read_package


@contextmanager
def private_provider_cloud(tmp_path_factory, name: str):
    """A module's own sandbox (default seed) as providers see it, stopped when the module's tests are done."""
    with start_sandbox(tmp_path_factory.mktemp(name) / "data") as running:
        yield ProviderCloud(running)


class ProviderCloud:
    """A running sandbox as providers see it: the secret-free connection, the Dataverse org URL, admin clients."""

    def __init__(self, running):
        self.running = running
        self.conn = connection("sandbox", sandbox_dir=running.data_dir)
        self.url = running.endpoints["dataverse"]

    @property
    def clients(self):
        return clients_for(self.conn)

    @property
    def dataverse(self):
        return self.clients.dataverse(self.url)

    def props(self, **extra) -> dict:
        """A Dataverse resource's inputs: the connection and environment URL, plus `extra`."""
        return {"connection": self.conn, "environmentUrl": self.url, **extra}

    def solution_props(self, package_path, **extra) -> dict:
        """IntegrationSolution inputs for a package, as the resource declares them (60 s import timeout)."""
        package = read_package(package_path)
        return self.props(**{"packagePath": package.path, "packageSha256": package.sha256,
                             "uniqueName": package.unique_name, "version": package.version,
                             "uninstallOnDelete": False, "importTimeoutSeconds": 60, **extra})
