"""What every entry point needs of a stack: its validated settings, and the connection its resources carry."""
from __future__ import annotations

import os
import sys
from pathlib import Path

SANDBOX_DIR_ENV = "BCSI_SANDBOX_DIR"


def stack_connection(settings, project_dir: str | Path) -> dict:
    """The secret-free connection dict every resource carries (the sandbox through $BCSI_SANDBOX_DIR,
    default PROJECT/.sandbox), so the program, `bcsi plan` and `bcsi check` sign in alike."""
    return cloud_connection(settings.cloud, settings.tenant_id, project_dir)


def cloud_connection(cloud: str, tenant_id: str | None, project_dir: str | Path) -> dict:
    """The connection dict for a cloud before any stack file exists (`bcsi export`), as stack_connection."""
    from mscloud.connection import connection

    sandbox_dir = None
    if cloud == "sandbox":
        sandbox_dir = os.environ.get(SANDBOX_DIR_ENV) or str(Path(project_dir) / ".sandbox")
    return connection(cloud, tenant_id, sandbox_dir)


def load_stack_or_exit(project_dir: Path, stack: str):
    """A command's stack settings; invalid ones print their `file: key: ...` lines on stderr and exit 1."""
    import click

    from provisioning.settings import SettingsError, load_stack

    try:
        return load_stack(project_dir, stack)
    except SettingsError as error:
        for line in error.lines:
            click.echo(line, err=True)
        sys.exit(1)
