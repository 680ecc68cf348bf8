"""The `bcsi plan` command: settings -> live reads -> the permission changes, exit 0 (none) / 2 (changes) / 1 (error)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioning.credentials import DEFAULT_CREDENTIAL_WINDOW_DAYS

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@click.command()
@click.option("--stack", "-s", required=True, metavar="STACK", help="Stack name: reads stacks/Pulumi.STACK.yaml.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table", show_default=True,
              help="table for a terminal, markdown for a pull-request comment, json for tools (README.md, *Reviewing changes*).")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The project root (where Pulumi.yaml is).")
@click.option("--credential-window-days", type=click.IntRange(0, 730), default=DEFAULT_CREDENTIAL_WINDOW_DAYS,
              show_default=True, help="List the stack's app credential as due for rotation when it expires within "
                                      "this many days (as `bcsi check` warns).")
def plan(stack: str, fmt: str, project_dir: Path, credential_window_days: int):
    """Show the permission changes an `up` of STACK would make, read live from the tenant and Dataverse.

    \b
    Compares the stack's bcsi:roles, bcsi:licenses and (identity mode manage) the app
    registration's API permissions and credential with what Entra ID and Dataverse hold now.
    The stack's credential (secret 'bcsi integration' or certificate) is a grant when missing,
    expired or expiring within --credential-window-days ("rotation due, current one expires ...").
    Every grant and revoke is listed per principal (UPN, or app id for application users).
    A role or SKU that does not exist yet makes all its configured holders grants. Role
    holders not in the settings are revokes (the stack owns each configured role's holder
    set); licence holders are revoked only if the stack assigned them before (stack output
    licenseAssignments, read with `pulumi stack output` when the engine is on PATH).

    \b
    Signs in like the program: the sandbox through $BCSI_SANDBOX_DIR (default .sandbox/),
    real tenants with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET /
    AZURE_CLIENT_CERTIFICATE_PATH / AZURE_FEDERATED_TOKEN_FILE. Reads only.

    Exit 0: no change; 2: changes; 1: error (one line on stderr).
    """
    from provisioning.stack_access import load_stack_or_exit

    settings = load_stack_or_exit(project_dir, stack)   # exit 1 (EXIT_ERROR) on invalid settings
    try:
        result = _plan(settings, stack, project_dir, credential_window_days)
    except Exception as error:  # noqa: BLE001 - every failure is one line, never a traceback
        click.echo(f"bcsi plan: {one_line(error)}", err=True)
        sys.exit(EXIT_ERROR)
    _print(result, fmt)
    sys.exit(EXIT_CHANGES if result.changes else EXIT_NO_CHANGES)


def _plan(settings, stack: str, project_dir: Path, window_days: int):
    from provisioning.plan import make_plan, previous_outputs
    from solution_import.role_lookup import declared_role_ids
    from provisioning.stack_access import stack_connection

    outputs = previous_outputs(project_dir, stack) if settings.licenses else {}
    declared = declared_role_ids(project_dir / settings.solution.path if settings.solution else None)
    return make_plan(settings, stack, stack_connection(settings, project_dir), outputs, window_days, declared)


def _print(result, fmt: str) -> None:
    from provisioning.plan_render import print_table, render

    if fmt == "table":
        from rich.console import Console

        piped = not sys.stdout.isatty()   # a log or a file: wide enough for app ids and org URLs on one line
        print_table(result, Console(highlight=False, width=160 if piped else None))
    else:
        click.echo(render(result, fmt), nl=False)


def one_line(error: Exception) -> str:
    """The error's own text (mscloud errors carry no secrets), first line only, with its kind when it has none."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text or type(error).__name__
