"""Engine helpers only tests use; running the engine itself is harness/engine.py."""
from __future__ import annotations

from pathlib import Path

# The machinery lives in harness/ (bench/ uses it too); tests keep importing it from here.
from harness.engine import (PROGRAM_PARTS, ROOT, VENV, Stack, copy_project, engine_env,  # noqa: F401
                            pulumi_binary, python_project)


def policy_pack(directory: Path, program: str) -> Path:
    """Writes a throw-away Python policy pack that runs in the project's venv."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "PulumiPolicy.yaml").write_text(
        f"description: test pack\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {VENV}\n"
    )
    (directory / "__main__.py").write_text(program)
    return directory


def sandbox_project_stack(tmp_path: Path, cloud) -> Stack:
    """The project's `sandbox` stack copied to tmp_path/project, with its own state (tmp_path/state) and HOME
    (tmp_path/home, so the files a run writes can be inspected), pointed at the running sandbox `cloud` through
    BCSI_SANDBOX_DIR, and initialised."""
    project = copy_project(tmp_path / "project")
    (tmp_path / "home").mkdir()
    stack = Stack(project, "sandbox", tmp_path / "state", env_extra={
        "BCSI_SANDBOX_DIR": str(cloud.data_dir), "HOME": str(tmp_path / "home")})
    stack.init()
    return stack
