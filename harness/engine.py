"""Runs the real Pulumi engine on a project (or a copy of this one): which binary, which environment, which files.

Shared by tests (tests/enginekit.py) and the benchmarks (bench/stack.py, bench/engine_overhead.py).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"


def pulumi_binary() -> str:
    """The engine `make engine` provides: .tools/bin first, else a Pulumi CLI on PATH."""
    built = ROOT / ".tools" / "bin" / "pulumi"
    if built.exists():
        return str(built)
    found = shutil.which("pulumi")
    if not found:
        raise RuntimeError("no Pulumi engine: run `make engine` (or `make test`, which does it)")
    return found


def engine_env(state_dir: Path, passphrase: str = "test", **extra: str) -> dict[str, str]:
    """A clean environment for one engine run: local file backend, passphrase secrets, no update check."""
    env = dict(os.environ)
    bin_dir = str(Path(pulumi_binary()).parent)
    env["PATH"] = os.pathsep.join([bin_dir, str(VENV / "bin"), env.get("PATH", "")])
    env["PULUMI_BACKEND_URL"] = f"file://{state_dir}"
    env["PULUMI_CONFIG_PASSPHRASE"] = passphrase
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    env.update(extra)
    return env


@dataclass
class Stack:
    """One stack of one project directory, driven through the CLI exactly as a user would."""

    project_dir: Path
    name: str
    state_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.env = engine_env(self.state_dir, **self.env_extra)

    def command(self, *args: str) -> list[str]:
        """The CLI command line of `pulumi <args>` on this stack."""
        return [pulumi_binary(), *args, "--stack", self.name, "--non-interactive", "--color", "never"]

    def run(self, *args: str, check: bool = True, timeout: float = 900, runner=None) -> subprocess.CompletedProcess:
        """`pulumi <args>`; `runner(cmd, timeout=, cwd=, env=)` replaces subprocess.run (the bench's process watcher)."""
        if runner is None:
            proc = subprocess.run(self.command(*args), cwd=self.project_dir, env=self.env, capture_output=True,
                                  text=True, timeout=timeout)
        else:
            proc = runner(self.command(*args), timeout=timeout, cwd=self.project_dir, env=self.env)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def init(self) -> None:
        self.run("stack", "init")

    def outputs(self, show_secrets: bool = False) -> dict:
        args = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.run(*args).stdout)


def python_project(directory: Path, name: str, program: str) -> Path:
    """Writes a throw-away Pulumi Python project that runs in the project's venv."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {VENV}\n"
    )
    (directory / "__main__.py").write_text(program)
    return directory


PROGRAM_PARTS = ("provisioning", "mscloud", "solution_import", "solutions")


def copy_project(target: Path, with_stacks: bool = True) -> Path:
    """A copy of the program (and its stacks) to run with its own state: the venv as an absolute path (the copy
    has no .venv), and no `encryptionsalt` from a local `pulumi stack init` (the copy gets its own)."""
    if target.exists():
        shutil.rmtree(target)
    for part in PROGRAM_PARTS + (("stacks",) if with_stacks else ()):
        shutil.copytree(ROOT / part, target / part, ignore=shutil.ignore_patterns("__pycache__", "src", ".venv"))
    for stack_file in (target / "stacks").glob("Pulumi.*.yaml") if with_stacks else ():
        stack_file.write_text(re.sub(r"(?m)^encryptionsalt:.*\n", "", stack_file.read_text()))
    (target / "stacks").mkdir(exist_ok=True)
    project = (ROOT / "Pulumi.yaml").read_text().replace("virtualenv: .venv", f"virtualenv: {VENV}")
    (target / "Pulumi.yaml").write_text(project)
    return target

