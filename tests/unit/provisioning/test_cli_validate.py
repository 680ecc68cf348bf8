"""`bcsi validate`: one summary line and exit 0, or the problem lines on stderr and exit 1, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioning.cli import main

from tests.unit.provisioning.examples import ROOT, SAMPLE_ZIP, copy_examples


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_valid_stack_prints_one_summary_line(project: Path):
    result = run("validate", "--stack", "sandbox", "--project-dir", str(project))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("stacks/Pulumi.sandbox.yaml: valid (cloud sandbox, identity existing, "
                                    "integration principal 5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37, 3 roles")
    assert result.stdout.count("\n") == 1


@pytest.mark.parametrize("stack", ["dev", "test", "prod"])
def test_real_tenant_examples_validate(project: Path, stack: str):
    result = run("validate", "-s", stack, "--project-dir", str(project))
    assert result.exit_code == 0, result.output
    assert "integration principal app created by the stack" in result.stdout


def test_errors_go_to_stderr_one_per_line_with_exit_1(project: Path):
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("- ann@contoso.com                                               # REPLACE\n    Product",
                                             "- ann@\n    Product")
                                     .replace("bcsi:cloud: public", "bcsi:cloud: azure"))
    result = run("validate", "--stack", "dev", "--project-dir", str(project))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "stacks/Pulumi.dev.yaml: bcsi:cloud: 'azure' is not one of the choices (allowed: public | usgov | usgov-dod | china | sandbox)",
        "stacks/Pulumi.dev.yaml: bcsi:roles.Integration User[1]: 'ann@' is not a valid user principal name "
        "(allowed: a UPN like name@contoso.com, an application id GUID, or 'integration')",
    ]


def test_missing_solution_file_is_reported(project: Path):
    (project / SAMPLE_ZIP).unlink()
    result = run("validate", "--stack", "sandbox", "--project-dir", str(project))
    assert result.exit_code == 1
    assert result.stderr.startswith("stacks/Pulumi.sandbox.yaml: bcsi:solution.path: "
                                     "'solutions/BcSalesIntegrationSample_1_0_0_0.zip' does not exist")


def test_help_says_what_is_checked_and_where_the_file_is():
    result = run("validate", "--help")
    assert result.exit_code == 0
    for words in ("stacks/Pulumi.STACK.yaml", "tenantId", "usageLocation", "additionalRoles", "exit 1"):
        assert words in result.output
    assert "validate" in run("--help").output


def test_the_console_script_prints_no_traceback_for_a_broken_file(project: Path):
    (project / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  bcsi:cloud: [\n")
    proc = subprocess.run([sys.executable, "-c", "from provisioning.cli import main; main()",
                           "validate", "--stack", "dev", "--project-dir", str(project)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("stacks/Pulumi.dev.yaml:3: invalid YAML")
