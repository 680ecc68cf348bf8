"""The `bcsi` command line: validate, plan, check, and the local sandbox cloud."""
import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bc-sales-integration", prog_name="bcsi")
def main():
    """bc-sales-integration: the Business Central <-> Dynamics 365 Sales integration as Pulumi stacks.

    Stacks live in stacks/Pulumi.<stack>.yaml. Preview and apply with `pulumi preview` / `pulumi up`;
    these commands validate settings, report permission changes and run the sandbox cloud.
    """


def _register_subcommands():
    from sandbox.cli import sandbox

    main.add_command(sandbox)


_register_subcommands()
