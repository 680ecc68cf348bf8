"""The `bcsi check` click command: settings -> live reads -> rendered results, exit 0 (no failure) or 1."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from provisioning.credentials import DEFAULT_CREDENTIAL_WINDOW_DAYS


@click.command()
@click.option("--stack", "-s", required=True, metavar="STACK", help="Stack name: reads stacks/Pulumi.STACK.yaml.")
@click.option("--format", "output_format", type=click.Choice(["table", "markdown", "json"]), default="table",
              show_default=True, help="table for terminals and logs, markdown for PR comments, json for tools.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The project root (where Pulumi.yaml is).")
@click.option("--credential-window-days", type=click.IntRange(0, 730), default=DEFAULT_CREDENTIAL_WINDOW_DAYS,
              show_default=True, help="Warn when the app's last valid credential expires within this many days.")
def check(stack: str, output_format: str, project_dir: Path, credential_window_days: int):
    """Run Business Central's own connection test, and the seed's other failure causes, before BC does.

    \b
    Live reads only (Graph, Dataverse, Business Central API): no writes, no Pulumi state.
    1 integration principal: in Dataverse, enabled, non-interactive (access mode 4), some role,
      not System Administrator (by role template id), both Integration Administrator and
      Integration User (by BC's fixed role ids, by name otherwise)
    2 integration solution: installed, at least the stack's version, last import not failed
    3 business central access: BC lets the toolkit's app in (registered on its page
      Microsoft Entra Applications, 9860); when not, 4 and 5 are not tried
    4 currency: the BC company's currency code is a Dataverse transaction currency
    5 salesperson coupling: salesperson exists, not blocked; Sales user enabled with a role
      (BC before 26.0 has no salesperson API: a warning says what was not checked)
    6 licence: every user the stack licenses holds the SKU (direct or via a group)
    7 product availability: holders of Product Availability User are enabled
    8 app credential / consent: a secret or certificate BC can sign in with, admin consent for Dataverse

    Exit 0 when nothing failed (warnings allowed), 1 when a check failed or on an error.
    """
    from mscloud.connection import clients_for
    from mscloud.credentials import CredentialError
    from mscloud.cloud import CloudError
    from provisioning.check import LiveEnvironment, exit_code, run_checks
    from provisioning.check_render import RENDERERS
    from provisioning.stack_access import load_stack_or_exit, stack_connection

    settings = load_stack_or_exit(project_dir, stack)
    conn = stack_connection(settings, project_dir)
    try:
        clients = clients_for(conn)
        env = LiveEnvironment(settings, clients, project_dir, conn)
        results = run_checks(env, credential_window_days)
    except (CredentialError, CloudError) as error:
        raise click.ClickException(str(error).splitlines()[0]) from None
    click.echo(RENDERERS[output_format](stack, results))
    sys.exit(exit_code(results))
