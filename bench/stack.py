"""The bench stack: the real program (a copy of the project) with N licensed users and three role sets.

Each run gets its own project copy, state backend and sandbox, so stacks never share state. The program, its
resources and `bcsi plan` run unchanged; only the stack file differs from `stacks/Pulumi.sandbox.yaml`:
  licences  DYN365_ENTERPRISE_SALES for user0001…userN
  roles     Integration Administrator: integration
            Integration User:          integration + every user
            Product Availability User: every user but the last (the one-change scenario adds the last)
No salesperson couplings: the benchmark is about licences and role sets.

Every member list is written to a member file (stacks/members/bench/*.txt, `{file: ...}` in the stack file), as a
stack of thousands of users must be: the engine hands the program its whole config in one environment variable
(PULUMI_CONFIG), and Linux refuses to start a process with one environment string over 128 KiB (past about 1,650
users in three lists inline; provisioning/settings/member_files.py). The program and `bcsi` read the same files.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from bench.cloud import SALES_SKU, generated_upns
from bench.processes import Watcher
from harness.engine import VENV, Stack, copy_project
from provisioning.export_members import split_long_lists
from provisioning.settings.member_files import write_member_file

STACK = "bench"
INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"     # seeded in sandbox/seeds/default.yaml
INTEGRATION_USER = "bcintegration@contoso.com"
ONE_CHANGE_ROLE = "Product Availability User"
SOLUTION = "solutions/BcSalesIntegrationSample_1_0_0_0.zip"
TIMEOUT_S = 3 * 3600   # N = 10,000 runs long on two shared cores
BCSI_MARK = "/bcsi "   # the `bcsi` console script's command line (bench/processes.py)


def stack_config(n: int, with_last_in_availability: bool = False) -> dict:
    """The `config:` of stacks/Pulumi.bench.yaml for n users."""
    users = generated_upns(n)
    availability = users if with_last_in_availability else users[:-1]
    return {
        "bcsi:cloud": "sandbox",
        "bcsi:identity": {"mode": "existing", "user": {"userPrincipalName": INTEGRATION_USER},
                          "app": {"appId": INTEGRATION_APP}},
        "bcsi:licenses": {SALES_SKU: {"users": users}},
        "bcsi:roles": {
            "Integration Administrator": ["integration"],
            "Integration User": ["integration", *users],
            ONE_CHANGE_ROLE: availability,
        },
        "bcsi:solution": {"path": SOLUTION, "uninstallOnDelete": False},
    }


class BenchStack:
    """One bench stack of n users on one sandbox, driven through the Pulumi CLI and `bcsi` as users do; `watcher`
    holds the CPU time and peak memory of the last command's processes."""

    def __init__(self, work_dir: Path, n: int, sandbox_dir: Path):
        self.n = n
        self.watcher = Watcher()
        self.project = copy_project(work_dir / "project", with_stacks=False)
        self.stack = Stack(self.project, STACK, work_dir / "state", env_extra={"BCSI_SANDBOX_DIR": str(sandbox_dir)})
        self.write_config(stack_config(n))
        self.stack.init()

    @property
    def stack_file(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{STACK}.yaml"

    def write_config(self, config: dict) -> None:
        """Replaces the stack's config (every member list in a member file), keeping the encryptionsalt `stack init`
        wrote."""
        self.config = config
        in_files, member_files = split_long_lists(config, STACK, self.stack_file, self.project, longer_than=0)
        for path, (members, what) in member_files.items():
            write_member_file(path, members, what)
        document = yaml.safe_load(self.stack_file.read_text()) if self.stack_file.exists() else {}
        document = {**(document or {}), "config": in_files}
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def up(self) -> subprocess.CompletedProcess:
        return self.pulumi("up", "--yes")

    def noop_preview(self) -> subprocess.CompletedProcess:
        return self.pulumi("preview", "--refresh", "--expect-no-changes")

    def add_one_user_to_one_role(self) -> subprocess.CompletedProcess:
        """The last user joins Product Availability User; `pulumi up` applies it."""
        self.write_config(stack_config(self.n, with_last_in_availability=True))
        return self.pulumi("up", "--yes")

    def export(self) -> subprocess.CompletedProcess:
        """`bcsi export` of the tenant as the stack left it, into a new stack file; it must adopt everything."""
        proc = self.bcsi("export", "--stack", "exported", "--cloud", "sandbox", "--sku", SALES_SKU, "--bc-environment",
                         "Production", "--solution-path", SOLUTION, "--force")
        if "everything was adopted exactly" not in proc.stdout:
            raise AssertionError(f"bcsi export did not adopt everything\n{proc.stdout[-2000:]}")
        return proc

    def plan(self) -> subprocess.CompletedProcess:
        """`bcsi plan --format json` on the stack; exit 0 (no change) is expected after an up."""
        return self.bcsi("plan", "--stack", STACK, "--format", "json")

    def pulumi(self, *args: str) -> subprocess.CompletedProcess:
        return self.stack.run(*args, runner=self.watcher, timeout=TIMEOUT_S)

    def bcsi(self, *args: str) -> subprocess.CompletedProcess:
        """One `bcsi` command on the bench project; exit 0 is expected."""
        proc = self.watcher([str(VENV / "bin" / "bcsi"), *args, "--project-dir", str(self.project)],
                            cwd=self.project, env=self.stack.env, timeout=TIMEOUT_S)
        if proc.returncode != 0:
            raise AssertionError(f"bcsi {args[0]} exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return proc

