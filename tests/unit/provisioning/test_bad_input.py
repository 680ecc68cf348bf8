"""Bad stack input through `bcsi validate` (issue #8): each case is exactly one line on stderr naming the file, the
key and the problem, exit code 1, no traceback. Nothing here talks to a cloud, so nothing can be written.

Cases that need the cloud (corrupt or lower-versioned package, wrong tenant, wrong or expired secret, unreachable
endpoint) are in tests/engine/test_bad_input.py; the hypothesis fuzz of settings is tests/unit/provisioning/test_settings_fuzz.py.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provisioning.cli import main as bcsi

ROOT = Path(__file__).resolve().parents[3]
STACK = "stacks/Pulumi.sandbox.yaml"


def edited(change):
    def apply(project: Path) -> None:
        path = project / STACK
        document = yaml.safe_load(path.read_text())
        change(document["config"])
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return apply


def replaced_text(old: str, new: str):
    def apply(project: Path) -> None:
        path = project / STACK
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    return apply


def removed_zip(project: Path) -> None:
    for zip_file in (project / "solutions").glob("*.zip"):
        zip_file.unlink()


CASES = {
    "malformed YAML": (replaced_text("  bcsi:roles:\n", "  bcsi:roles: [\n"), f"{STACK}:", "invalid YAML"),
    "unknown top-level key": (edited(lambda c: c.update({"bcsi:rolez": {}})), "bcsi:rolez", "allowed"),
    "unknown nested key": (edited(lambda c: c["bcsi:solution"].update(uninstall=True)), "bcsi:solution.uninstall",
                           "allowed"),
    "unknown role": (edited(lambda c: c["bcsi:roles"].update({"Integration Admin": ["integration"]})),
                     "bcsi:roles.Integration Admin", "Integration Administrator"),
    "invalid UPN": (edited(lambda c: c["bcsi:roles"]["Integration User"].append("ann@")),
                    "bcsi:roles.Integration User[2]", "'ann@' is not a valid user principal name"),
    "missing solution zip": (removed_zip, "bcsi:solution.path", "does not exist"),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions", ignore=shutil.ignore_patterns("src"))
    return tmp_path


class Result:
    def __init__(self, invoked):
        self.returncode, self.stdout, self.stderr = invoked.exit_code, invoked.stdout, invoked.stderr
        self.exception = invoked.exception


def validate(project: Path) -> Result:
    """`bcsi validate` in-process (the console script's own path is tested in test_cli_validate.py)."""
    return Result(CliRunner().invoke(bcsi, ["validate", "--stack", "sandbox", "--project-dir", str(project)]))


def test_the_untouched_sandbox_stack_is_valid(project: Path):
    assert validate(project).returncode == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_line_and_exit_1(project: Path, case: str):
    change, *needles = CASES[case]
    change(project)
    result = validate(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(STACK), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
