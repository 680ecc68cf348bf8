"""The `bcsi` command line: validate, plan, check, export, and the local sandbox cloud."""
from __future__ import annotations

from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bc-sales-integration", prog_name="bcsi")
def main():
    """bc-sales-integration: the Business Central <-> Dynamics 365 Sales integration as Pulumi stacks.

    Stacks live in stacks/Pulumi.<stack>.yaml. Preview and apply with `pulumi preview` / `pulumi up`;
    these commands validate settings, report permission changes and run the sandbox cloud.
    """


@main.command()
@click.option("--stack", "-s", required=True, metavar="STACK",
              help="Stack name: validates stacks/Pulumi.STACK.yaml (e.g. sandbox, dev, test, prod).")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The project root (where Pulumi.yaml is); the stack file is read from its stacks/.")
def validate(stack: str, project_dir: Path):
    """Check a stack's `bcsi:` settings offline, without calling any cloud.

    \b
    Checks: cloud (public|usgov|usgov-dod|china|sandbox), tenantId GUID and https dataverseUrl
    (both needed unless sandbox), businessCentral (not on usgov, usgov-dod, china), identity
    (mode manage|existing and the fields of that mode, usageLocation, credential
    secret|certificate (BC's; federated only beside it), secretExpiryDays 1..730),
    licences (SKU part numbers, user UPNs, groups, disabled plans), roles (the three
    integration roles or bcsi:additionalRoles; principals are UPNs, app ids or
    'integration'; no repeats), salesperson codes (1-20 characters) -> UPNs, the solution
    .zip and certificate files (must exist under the project dir), and bcsi:policy.
    Keys outside the bcsi: namespace are left alone; unknown bcsi: keys are errors.

    Exit 0 and one summary line when valid; otherwise each problem on stderr as
    `file: key: what is wrong (allowed: ...)` and exit 1. provisioning/README.md
    describes every key.
    """
    from provisioning.stack_access import load_stack_or_exit

    settings = load_stack_or_exit(project_dir, stack)
    click.echo(f"{settings.source}: valid ({summary(settings)})")


def summary(settings) -> str:
    """One line saying what the stack will manage."""
    identity = settings.identity
    principal = settings.integration_principal or "app created by the stack"
    parts = [
        f"cloud {settings.cloud}",
        f"identity {identity.mode}",
        f"integration principal {principal}",
        _count(len(settings.roles), "role"),
        _count(sum(len(m) for m in settings.roles.values()), "role holder"),
        _count(len(settings.licenses), "licence SKU"),
        _count(len(settings.salespersons), "salesperson"),
    ]
    if settings.solution is not None:
        parts.append(f"solution {settings.solution.path}")
    return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _register_subcommands():
    from provisioning.plan_command import plan
    from provisioning.check_command import check
    from provisioning.export_command import export
    from sandbox.cli import sandbox

    main.add_command(plan)
    main.add_command(check)
    main.add_command(export)
    main.add_command(sandbox)


_register_subcommands()
