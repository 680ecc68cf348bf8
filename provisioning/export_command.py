"""The `bcsi export` command: live reads -> a commented stack file that adopts what exists; exit 0, or 1 (one line)."""
from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path

import click

STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@click.command()
@click.option("--stack", "-s", required=True, metavar="STACK", help="Stack name: writes stacks/Pulumi.STACK.yaml.")
@click.option("--cloud", type=click.Choice(["public", "usgov", "china", "sandbox"]), default="public", show_default=True,
              help="The Microsoft cloud; sandbox reads $BCSI_SANDBOX_DIR/endpoints.json (default .sandbox/).")
@click.option("--dataverse-url", metavar="URL", help="The Dataverse environment (required unless --cloud sandbox).")
@click.option("--bc-environment", metavar="NAME", help="The BC environment: proposes salesperson couplings.")
@click.option("--bc-company", metavar="NAME", help="The BC company (needed when the environment has several).")
@click.option("--sku", "skus", multiple=True, metavar="SKU",
              help="A Sales SKU part number whose holders to export (repeat for several).")
@click.option("--solution-path", metavar="ZIP",
              help="The installed integration solution's package, relative to the project directory; without it a "
                   "placeholder is written that `bcsi validate` refuses.")
@click.option("--environment-kind", type=click.Choice(["dev", "test", "prod"]),
              help="bcsi:policy.environmentKind (default: prod for a stack named prod or *-prod, else dev).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (default: PROJECT/stacks/Pulumi.STACK.yaml); a list of more than 500 members "
                   "goes to a member file in members/STACK/ beside it.")
@click.option("--force", is_flag=True, help="Overwrite the file (and its member files) when it exists.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The project root (where Pulumi.yaml is).")
def export(stack, cloud, dataverse_url, bc_environment, bc_company, skus, solution_path, environment_kind, out, force,
           project_dir):
    """Write a stack file for an integration set up by hand, so that its first `pulumi up` changes nothing.

    \b
    Reads (never writes) the tenant, the Dataverse environment and the BC company with the
    same reads as `bcsi plan` and `bcsi check`:
      identity   the user or application user holding Integration Administrator (by BC's
                 fixed role id), exported in mode existing
      roles      the holders of Integration Administrator, Integration User, Product
                 Availability User
      licences   each --sku's direct holders, its licensed groups; group-only holders as a comment
      couplings  BC salespersons whose e-mail is an enabled Sales user with a role (proposals)
      solution   --solution-path checked against the installed version
      policy     the policy pack's defaults for the environment kind
    What cannot be adopted exactly is listed at the end of the file and printed. Secrets are
    never exported. Signs in like plan: the sandbox through $BCSI_SANDBOX_DIR, real tenants
    with AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret, certificate or federated token.

    Exit 0 when written; 1 on bad flags, an existing file without --force, or a failed read
    (one line on stderr; nothing written).
    """
    from policies.config import environment_kind as default_kind
    from provisioning.export import ExportRequest

    out = out or project_dir / "stacks" / f"Pulumi.{stack}.yaml"
    problem = flag_problem(stack, cloud, dataverse_url, bc_environment, bc_company, out, force)
    if problem:
        fail(problem)
    request = ExportRequest(
        stack=stack, cloud=cloud, tenant_id=os.environ.get("AZURE_TENANT_ID") if cloud != "sandbox" else None,
        dataverse_url=dataverse_url.rstrip("/") if dataverse_url else None, bc_environment=bc_environment,
        bc_company=bc_company, skus=tuple(s.upper() for s in skus), solution_path=solution_path,
        environment_kind=environment_kind or default_kind(None, None, stack))
    try:
        result = _export(request, project_dir)
    except Exception as error:  # noqa: BLE001 - every failure is one line, never a traceback
        from provisioning.plan_command import one_line

        fail(one_line(error))
    write(result, request, out, project_dir, force)


def flag_problem(stack, cloud, dataverse_url, bc_environment, bc_company, out: Path, force: bool) -> str | None:
    """The first thing wrong with the flags, or None."""
    if not STACK_NAME.match(stack):
        return f"--stack {stack!r} is not a stack name (allowed: letters, digits, '-', '_', '.')"
    if cloud != "sandbox" and not dataverse_url:
        return "--dataverse-url is required unless --cloud sandbox (e.g. https://contoso.crm.dynamics.com)"
    if dataverse_url and not re.match(r"^https://[^/?#\s]+/?$", dataverse_url):
        return f"--dataverse-url {dataverse_url!r} is not an https org URL (e.g. https://contoso.crm.dynamics.com)"
    if bc_company and not bc_environment:
        return "--bc-company needs --bc-environment"
    if out.exists() and not force:
        return f"{out} exists; pass --force to overwrite it"
    return None


def _export(request, project_dir: Path):
    from mscloud.connection import clients_for
    from provisioning.export import export_stack
    from provisioning.stack_access import cloud_connection

    clients = clients_for(cloud_connection(request.cloud, request.tenant_id, project_dir))
    return export_stack(request, clients, project_dir)


def write(result, request, out: Path, project_dir: Path, force: bool) -> None:
    """Checks the settings as `bcsi validate` would (the solution placeholder aside), then writes the file and, for
    lists longer than export_members.LONG_LIST, member files beside it."""
    from provisioning.export import SOLUTION_PLACEHOLDER
    from provisioning.export_members import split_long_lists
    from provisioning.export_render import stack_file, summary
    from provisioning.settings import SettingsError, parse
    from provisioning.settings.member_files import write_member_file

    try:
        parse(result.config, str(out), project_dir=project_dir if request.solution_path else None)
    except SettingsError as error:
        for line in error.lines:
            click.echo(line, err=True)
        fail("the exported settings are not valid; nothing was written")
    config, member_files = split_long_lists(result.config, request.stack, out, project_dir)
    existing = [str(path) for path in member_files if path.exists()]
    if existing and not force:
        fail(f"{existing[0]} exists; pass --force to overwrite it")
    source = f"Dataverse {request.dataverse_url}" if request.dataverse_url else f"the {request.cloud} cloud"
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, (members, what) in member_files.items():
        write_member_file(path, members, what)
    out.write_text(stack_file(dataclasses.replace(result, config=config), request.stack, source))
    for line in summary(result, str(out)):
        click.echo(line)
    for path, (members, what) in member_files.items():
        click.echo(f"wrote {path}: {what}: {len(members)} members")
    if result.config["bcsi:solution"]["path"] == SOLUTION_PLACEHOLDER:
        click.echo(f"next: supply the solution package and set bcsi:solution.path, then `bcsi validate --stack {request.stack}`")
    else:
        click.echo(f"next: `bcsi validate --stack {request.stack}`, `bcsi plan --stack {request.stack}` (no changes), "
                   f"`pulumi up -s {request.stack}`")


def fail(message: str):
    click.echo(f"bcsi export: {message}", err=True)
    sys.exit(1)
