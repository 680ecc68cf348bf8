"""Azurite, Microsoft's Azure Storage emulator, as a subprocess: a blob container that holds Pulumi state the way
a storage account does for the pipelines (pipelines/README.md).

`start_azurite(dir)` returns a `RunningAzurite` (a context manager that stops it); tests use it directly, and
`python -m harness.azurite run -- CMD…` runs one command with its state in Azurite (`STATE=azurite make demo`).
Azurite is the npm package pinned in package.json, installed under the project by `make node` (`npm ci`), never a
global install. It listens on 127.0.0.1 only, over http (as its documented local endpoint is), and keeps its data
in the given directory, so a restart on the same port finds the same blobs.

Account and key: Azurite's well-known development account, published by Microsoft for local use only
(https://learn.microsoft.com/en-us/azure/storage/common/storage-connect-azurite, "Use the well-known storage
account and key"). The Pulumi CLI reaches it through gocloud.dev's azblob driver, which reads
AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY and takes `domain`, `protocol` and `localemu` from the URL.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from harness.engine import ROOT
from harness.process import ServerProcess, start_server

ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONTAINER = "pulumi-state"
STARTUP_TIMEOUT_S = 60
LISTENING = re.compile(r"successfully listens on http://127\.0\.0\.1:(\d+)")


class AzuriteStartError(RuntimeError):
    pass


def azurite_binary() -> Path:
    """`azurite-blob` from the project's node_modules (`make node`); a global install is deliberately not used."""
    binary = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise AzuriteStartError("Azurite is not installed: run `make node` (npm ci of package.json)")
    return binary


class RunningAzurite(ServerProcess):
    """One `azurite-blob` process on 127.0.0.1, its data dir and port; `restart()` keeps both."""

    def __init__(self, data_dir: Path, port: int = 0):
        self.data_dir = Path(data_dir)
        self.port = port
        self.process: subprocess.Popen | None = None
        self.log_file = self.data_dir / "azurite.log"   # beside its own database files

    def start(self) -> "RunningAzurite":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(azurite_binary()), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                "--location", str(self.data_dir), "--skipApiVersionCheck", "--disableTelemetry", "--silent"]
        self.process = start_server(args, self.log_file, cwd=str(self.data_dir))
        self.port = self._wait_listening()
        return self

    def _wait_listening(self) -> int:
        """Azurite prints the port it bound (the one asked for, or a free one for port 0)."""
        found: list[int] = []

        def read() -> None:
            for raw in self.process.stdout:
                match = LISTENING.search(raw.decode(errors="replace"))
                if match:
                    found.append(int(match.group(1)))
                    break

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(STARTUP_TIMEOUT_S)
        if not found:
            self.stop()
            raise AzuriteStartError(f"Azurite did not start; log ({self.log_file}):\n"
                                    f"{self.log_file.read_text(errors='replace')[-4000:]}")
        return found[0]

    # -- the storage account -------------------------------------------------------------------
    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def backend_url(self, container: str = CONTAINER) -> str:
        """The Pulumi backend URL for `container` in this Azurite (gocloud.dev azblob, local-emulator form)."""
        return f"azblob://{container}?domain=127.0.0.1:{self.port}&protocol=http&localemu=true"

    def backend_env(self, container: str = CONTAINER) -> dict[str, str]:
        """What the Pulumi CLI needs to keep state in `container`."""
        return {"PULUMI_BACKEND_URL": self.backend_url(container),
                "AZURE_STORAGE_ACCOUNT": ACCOUNT, "AZURE_STORAGE_KEY": ACCOUNT_KEY}

    def container(self, name: str = CONTAINER):
        """An azure-storage-blob ContainerClient for `name` (Microsoft's own SDK, shared-key auth)."""
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(self.blob_endpoint, credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY})
        return service.get_container_client(name)

    def create_container(self, name: str = CONTAINER) -> None:
        """Creates the container once (a storage account's container is created by its owner, not by Pulumi)."""
        from azure.core.exceptions import ResourceExistsError

        try:
            self.container(name).create_container()
        except ResourceExistsError:
            pass

    def blob_names(self, name: str = CONTAINER, prefix: str | None = None) -> list[str]:
        return sorted(blob.name for blob in self.container(name).list_blobs(name_starts_with=prefix))

    def read_blob(self, blob: str, name: str = CONTAINER) -> bytes:
        return self.container(name).download_blob(blob).readall()


def start_azurite(data_dir, port: int = 0) -> RunningAzurite:
    """Serve Azurite with its data in `data_dir` (created); the caller stops it (or uses `with`)."""
    return RunningAzurite(Path(data_dir), port=port).start()


def run_with_state_in_azurite(data_dir: Path, command: list[str], container: str = CONTAINER) -> int:
    """Starts Azurite, creates the container, runs `command` with the backend pointed at it, stops Azurite."""
    with start_azurite(data_dir) as azurite:
        azurite.create_container(container)
        print(f"state in Azurite: {azurite.backend_url(container)} (data in {data_dir})", flush=True)
        return subprocess.run(command, env={**os.environ, **azurite.backend_env(container)}).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.azurite",
                                     description="Run one command with Pulumi state in a local Azurite.")
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run COMMAND with PULUMI_BACKEND_URL pointing at an Azurite container")
    run.add_argument("--data", default=str(ROOT / ".azurite"), help="Azurite's data directory (default .azurite/)")
    run.add_argument("--container", default=CONTAINER)
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS…]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (usage: run [--data DIR] -- COMMAND …)")
    try:
        return run_with_state_in_azurite(Path(args.data), command, args.container)
    except AzuriteStartError as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
