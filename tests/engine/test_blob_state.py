"""The pipelines' own steps (pipelines/steps.sh preview, then up) against the sandbox, with Pulumi state in Azure
Blob Storage as the pipelines keep it -- here in Azurite, Microsoft's Azure Storage emulator (harness/azurite.py).

What the backend does comes from the Pulumi CLI's own source, pulumi/pulumi pkg/backend/diy (v3.259.0, the engine
built here): `lock.go` -- an update, refresh, destroy or import first lists `.pulumi/locks/<org>/<project>/<stack>/`
in the bucket, fails with "the stack is currently locked by N lock(s). Either wait for the other process(es) to end
or delete the lock file with `pulumi cancel`." if another process's lock is there, else writes its own
`<uuid>.json` (pid, user, host, time), lists again, and deletes it when the operation ends; `backend.go` --
`pulumi preview` takes no lock, and `pulumi cancel` (CancelCurrentUpdate) deletes every lock file of the stack.
The bucket is gocloud.dev's azblob driver (gocloud.dev/blob/azureblob), account and key from AZURE_STORAGE_ACCOUNT /
AZURE_STORAGE_KEY. Azurite's account and key: https://learn.microsoft.com/en-us/azure/storage/common/storage-connect-azurite
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.azurite import ACCOUNT_KEY, RunningAzurite, start_azurite
from harness.engine import engine_env, pulumi_binary
from harness.process import alive, kill_tree
from tests.engine.test_crash import OUR_TYPES, role_batch_sent
from tests.engine.test_pipeline_steps import pipeline_project
from tests.engine.test_reliability import INTEGRATION_APP, SOLUTION, assert_no_duplicates, live_state
from tests.engine.test_sandbox_stack import summary

pytestmark = pytest.mark.engine

STACK = "sandbox"
LOCKS = ".pulumi/locks/"
LOCKED = "the stack is currently locked by 1 lock(s)"
CLIENT_SECRET = "blob-state-client-secret-0815-do-not-print"   # bcsi:identity.app.clientSecret (a secure value)
EXPECTED_TYPES = sorted(["bcsi:ApplicationUser", "bcsi:IntegrationSolution", "bcsi:IntegrationUserAccess",
                         "bcsi:LicenseAssignment"] + ["bcsi:RoleAssignment"] * 3)


@pytest.fixture
def azurite(tmp_path):
    """A private Azurite on a free loopback port, data in tmp_path/azurite, with the state container created."""
    running = start_azurite(tmp_path / "azurite")
    try:
        running.create_container()
        yield running
    finally:
        running.stop()


class Checkout:
    """One pipeline run's checkout of the repository: its own directory and HOME, no local state; the backend is
    the Azurite container and the secrets provider the stack's passphrase, as a pipeline's variables set them."""

    def __init__(self, directory: Path, cloud, azurite: RunningAzurite, stack_file: Path | None = None):
        self.project = pipeline_project(directory / "project")
        if stack_file:   # what the repository holds after the first run committed its stack file
            shutil.copy(stack_file, self.project / "stacks" / stack_file.name)
        (directory / "home").mkdir()
        self.file_state = directory / "file-state"   # must stay unused
        self.env = engine_env(self.file_state, passphrase="sandbox", HOME=str(directory / "home"),
                              BCSI_SANDBOX_DIR=str(cloud.data_dir), BCSI_OUT_DIR=str(directory / "out"),
                              BCSI_POLICY_CONFIG=str(self.project / "pipelines" / "policy-config.json"),
                              **azurite.backend_env())

    @property
    def stack_file(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{STACK}.yaml"

    def step_command(self, name: str) -> list[str]:
        return [str(self.project / "pipelines" / "steps.sh"), name, STACK]

    def step(self, name: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.step_command(name), cwd=self.project, env=self.env, capture_output=True,
                              text=True, timeout=900)
        assert not check or proc.returncode == 0, f"steps.sh {name}: exit {proc.returncode}\n{output(proc)}"
        return proc

    def start_step(self, name: str, log: Path) -> subprocess.Popen:
        """A step in its own process group (so a kill takes the language host and providers too, as a lost
        runner would), console to `log`."""
        with open(log, "w") as out:
            return subprocess.Popen(self.step_command(name), cwd=self.project, env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([pulumi_binary(), *args, "--stack", STACK, "--non-interactive", "--color", "never"],
                              cwd=self.project, env=self.env, capture_output=True, text=True, timeout=900)
        assert not check or proc.returncode == 0, f"pulumi {' '.join(args)}: exit {proc.returncode}\n{output(proc)}"
        return proc

    def deployment(self) -> dict:
        return json.loads(self.pulumi("stack", "export").stdout)["deployment"]

    def history(self) -> list[dict]:
        return json.loads(self.pulumi("stack", "history", "--json").stdout)


def output(proc) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def our_resources(deployment: dict) -> list[str]:
    return sorted(r["type"].split("/")[-1] for r in deployment.get("resources", []) if r["type"].endswith(OUR_TYPES))


def resource_ids(deployment: dict) -> dict[str, str | None]:
    return {r["urn"]: r.get("id") for r in deployment["resources"]}


def wait_for(condition, what: str, process: subprocess.Popen | None = None, log: Path | None = None,
             timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, f"the run ended before {what}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def assert_converged(checkout: Checkout, cloud) -> None:
    """One of everything in the tenant, the stack's resources in state once with nothing pending, and a
    preview from the container that changes nothing and writes nothing."""
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert [s for s in state["solutions"] if s[0] == SOLUTION] == [(SOLUTION, "1.0.0.0")]
    assert state["applicationUsers"].count(INTEGRATION_APP) == 1
    assert state["holders"]["Integration User"] == sorted([INTEGRATION_APP, "ann@contoso.com"])
    assert state["holders"]["Product Availability User"] == ["ann@contoso.com", "bob@contoso.com"]
    assert state["licences"]["DYN365_ENTERPRISE_SALES"] == ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]
    deployment = checkout.deployment()
    assert our_resources(deployment) == EXPECTED_TYPES
    assert not deployment.get("pending_operations")
    cloud.reset_metrics()
    checkout.pulumi("preview", "--expect-no-changes")
    assert cloud.metrics()["writes"] == 0


def test_state_history_and_secrets_land_in_the_container_and_a_fresh_checkout_previews_no_changes(
        tmp_path, start_sandbox, azurite):
    cloud = start_sandbox(tmp_path / "sandbox")
    first = Checkout(tmp_path / "run1", cloud, azurite)
    first.step("preview")   # creates the stack in the container (pipelines/steps.sh select_stack)
    first.pulumi("config", "set", "--path", "--secret", "bcsi:identity.app.clientSecret", CLIENT_SECRET)
    started = time.monotonic()
    first.step("preview")
    first.step("up")
    print(f"pipeline preview+up with state in Azurite: {time.monotonic() - started:.1f} s")

    blobs = azurite.blob_names()
    prefix = ".pulumi/stacks/bc-sales-integration/sandbox.json"
    assert prefix in blobs, blobs
    assert [b for b in blobs if b.startswith(".pulumi/history/") and b.endswith(".history.json")], blobs
    assert not [b for b in blobs if b.startswith(LOCKS)], blobs   # released when the update ended
    assert not first.file_state.exists()
    checkpoint = json.loads(azurite.read_blob(prefix))["checkpoint"]["latest"]
    assert checkpoint["secrets_providers"]["type"] == "passphrase"
    assert our_resources(checkpoint) == EXPECTED_TYPES
    for blob in blobs:   # the secret is in the container only encrypted
        assert CLIENT_SECRET.encode() not in azurite.read_blob(blob), blob
    assert "integrationClientSecret" in json.dumps(checkpoint) and "ciphertext" in json.dumps(checkpoint)

    # the next pipeline run: a fresh checkout (the committed stack file, no local state, a fresh HOME)
    fresh = Checkout(tmp_path / "run2", cloud, azurite, stack_file=first.stack_file)
    container = {blob: azurite.read_blob(blob) for blob in azurite.blob_names()}
    cloud.reset_metrics()
    previewed = fresh.step("preview")
    assert summary(output(previewed)) == {"unchanged": 11}, output(previewed)
    assert cloud.metrics()["writes"] == 0
    # preview (and select, stack output) wrote nothing to the container: a reader identity needs only read access
    assert {blob: azurite.read_blob(blob) for blob in azurite.blob_names()} == container
    assert [h["kind"] for h in fresh.history()] == ["update"]
    assert fresh.pulumi("stack", "output", "integrationClientSecret", "--show-secrets").stdout.strip() == CLIENT_SECRET
    assert not fresh.file_state.exists()


def test_two_concurrent_ups_one_runs_the_other_is_refused_by_the_lock(tmp_path, start_sandbox, azurite):
    cloud = start_sandbox(tmp_path / "sandbox", latency_ms=150)   # the first up holds the lock for a while
    first = Checkout(tmp_path / "merge1", cloud, azurite)
    first.step("preview")
    second = Checkout(tmp_path / "merge2", cloud, azurite, stack_file=first.stack_file)

    log = tmp_path / "merge1-up.log"
    running = first.start_step("up", log)
    try:
        wait_for(lambda: azurite.blob_names(prefix=LOCKS), "lock in the container", running, log)
        refused = second.step("up", check=False)
        assert azurite.blob_names(prefix=LOCKS), "the second up ended after the first released its lock"
    finally:
        running.wait(timeout=900)
    assert running.returncode == 0, log.read_text()
    assert refused.returncode == 1, output(refused)   # refused before the update started (a failed update is 255)
    message = output(refused)
    assert LOCKED in message and "pulumi cancel" in message, message
    assert "azblob://pulumi-state/.pulumi/locks/" in message and ACCOUNT_KEY not in message, message

    assert azurite.blob_names(prefix=LOCKS) == []
    assert [h["kind"] for h in second.history()] == ["update"]   # the refused run wrote no history
    assert_converged(second, cloud)
    rerun = second.step("up")   # the refused merge's re-run
    assert summary(output(rerun)).get("unchanged") == 11, output(rerun)
    assert_converged(second, cloud)


def test_a_run_killed_while_it_holds_the_lock_is_recovered_with_nothing_lost(tmp_path, start_sandbox, azurite):
    cloud = start_sandbox(tmp_path / "sandbox", latency_ms=150)
    lost = Checkout(tmp_path / "lost-runner", cloud, azurite)
    lost.step("preview")

    log = tmp_path / "killed-up.log"
    cloud.reset_metrics()
    running = lost.start_step("up", log)
    try:
        wait_for(lambda: azurite.blob_names(prefix=LOCKS) and role_batch_sent(cloud.metrics()),
                 "lock held and role $batch sent", running, log)
    finally:
        below = kill_tree(running.pid)
        running.wait(timeout=30)
    assert running.returncode == -signal.SIGKILL
    assert not alive(below), f"processes of the killed run still running: {alive(below)}"
    stale = azurite.blob_names(prefix=LOCKS)
    assert len(stale) == 1, stale   # the dead run's lock stays in the container

    nxt = Checkout(tmp_path / "next-runner", cloud, azurite, stack_file=lost.stack_file)
    blocked = nxt.step("up", check=False)
    assert blocked.returncode != 0 and LOCKED in output(blocked), output(blocked)

    # the README's recovery (Failure and recovery), against the blob backend
    nxt.pulumi("cancel", "--yes")
    assert azurite.blob_names(prefix=LOCKS) == []
    nxt.pulumi("refresh", "--clear-pending-creates", "--yes")
    assert not nxt.deployment().get("pending_operations")
    nxt.step("up")
    assert_converged(nxt, cloud)
    assert nxt.pulumi("stack", "output", "integrationPrincipal").stdout.strip() == INTEGRATION_APP


def test_azurite_restarted_between_preview_and_up_up_works_from_the_persisted_state(
        tmp_path, start_sandbox, azurite):
    cloud = start_sandbox(tmp_path / "sandbox")
    first = Checkout(tmp_path / "run1", cloud, azurite)
    first.step("preview")
    first.step("up")
    before = first.deployment()

    second = Checkout(tmp_path / "run2", cloud, azurite, stack_file=first.stack_file)
    second.step("preview")
    port = azurite.port
    azurite.restart()   # the storage emulator goes down and comes back between the two steps
    assert azurite.port == port
    cloud.reset_metrics()
    upped = second.step("up")
    assert summary(output(upped)) == {"unchanged": 11}, output(upped)
    assert cloud.metrics()["writes"] == 0   # nothing re-created: up started from the state it found
    assert resource_ids(second.deployment()) == resource_ids(before)
    assert [h["kind"] for h in second.history()] == ["update", "update"]
    assert_converged(second, cloud)
