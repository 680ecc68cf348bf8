"""The Pulumi program: stack settings -> identity, licences, the Dataverse connection, salesperson couplings.

Program time stays cheap and offline: settings are validated, the solution zip is read, resources are
declared; every cloud read happens inside the resources' providers during preview/up.
Stack outputs are those README.md lists under *Stack outputs* (integrationPrincipal, solution, roleAssignments, licenseAssignments) plus couplings.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pulumi

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:  # the engine runs this file as a script: make the project importable
    sys.path.insert(0, str(PROJECT_DIR))

from provisioning import settings as settings_module  # noqa: E402
from provisioning.couplings import SalespersonCouplings  # noqa: E402
from provisioning.dataverse_connection import DataverseConnection, DataverseConnectionArgs, LicenseGate  # noqa: E402
from provisioning.identity import IntegrationIdentity  # noqa: E402
from provisioning.licenses import LicenseAssignment  # noqa: E402
from provisioning.stack_access import stack_connection  # noqa: E402
from solution_import.package import read_package  # noqa: E402


def end_quietly_when_cancelled() -> None:
    """The engine interrupts the program (SIGINT) once a resource has failed and reported its one-line error;
    without this, Python shows a KeyboardInterrupt traceback of Pulumi's own event loop after that line."""
    def stop(_signum, _frame):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    if threading.current_thread() is threading.main_thread():   # signal handlers can only be set there
        signal.signal(signal.SIGINT, stop)


def load_settings():
    """The stack's validated settings; a problem ends the program with the settings' own one-line errors."""
    source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
    try:
        return settings_module.from_pulumi_config(source, project_dir=PROJECT_DIR)
    except settings_module.SettingsError as error:
        raise pulumi.RunError(str(error)) from None


def integration_identity(settings) -> tuple[IntegrationIdentity, object, object, str | None]:
    """(identity component, integration principal, app id or None, integration user UPN or None).

    Mode `manage` creates the user/app with azuread; `existing` declares nothing and passes the names through.
    """
    identity = IntegrationIdentity("integration", settings.identity, project_dir=PROJECT_DIR, cloud=settings.cloud,
                                   tenant_id=settings.tenant_id)
    app_id = identity.app_id if settings.identity.app is not None else None
    user = settings.identity.user.user_principal_name if settings.identity.user else None
    return identity, identity.integration_principal, app_id, user


def license_assignments(settings, conn: dict, identity) -> dict[str, LicenseAssignment]:
    """One LicenseAssignment per SKU; after the identity, so a managed integration user exists first."""
    after = pulumi.ResourceOptions(depends_on=[identity])
    return {
        sku: LicenseAssignment(
            f"license-{sku.lower()}", connection=conn, sku_part_number=sku, users=entry.users,
            groups=entry.groups, disabled_plans=entry.disabled_plans,
            usage_location=entry.usage_location,
            opts=after)
        for sku, entry in sorted(settings.licenses.items())
    }


def main() -> None:
    end_quietly_when_cancelled()
    settings = load_settings()
    read_package(PROJECT_DIR / settings.solution.path)   # a broken package stops the run before any resource exists
    conn = stack_connection(settings, PROJECT_DIR)
    identity, principal, app_id, integration_user = integration_identity(settings)
    licenses = license_assignments(settings, conn, identity)

    # Sandbox: "" lets each provider take the org URL from endpoints.json, so state does not pin the sandbox's
    # port (None would not do: the engine drops None-valued inputs).
    environment_url = settings.dataverse_url if settings.cloud != "sandbox" else ""
    dataverse = DataverseConnection("dataverse", DataverseConnectionArgs(
        connection=conn,
        environment_url=environment_url,
        solution_path=str(PROJECT_DIR / settings.solution.path),
        roles={role: list(members) for role, members in settings.roles.items()},
        integration_principal=principal,
        app_id=app_id,
        integration_user=integration_user,
        uninstall_on_delete=settings.solution.uninstall_on_delete,
        after=[LicenseGate(licenses[sku], frozenset(u.lower() for u in entry.users), bool(entry.groups))
               for sku, entry in sorted(settings.licenses.items())],
    ))

    couplings_output = []
    if settings.salespersons and settings.business_central:
        bc = settings.business_central
        couplings = SalespersonCouplings(
            "salesperson-couplings", connection=conn, environment_url=environment_url,
            business_central={"environment": bc.environment, "company": bc.company},
            salespersons=dict(settings.salespersons),
            opts=pulumi.ResourceOptions(depends_on=list(dataverse.roles.values()) or None))
        couplings_output = couplings.couplings

    pulumi.export("integrationPrincipal", principal)
    pulumi.export("solution", dataverse.solution_info)
    pulumi.export("roleAssignments", dataverse.role_holders)
    pulumi.export("licenseAssignments", pulumi.Output.all(
        **{sku: res.members for sku, res in licenses.items()}).apply(
            lambda members: {sku: sorted(m or []) for sku, m in members.items()}) if licenses else {})
    pulumi.export("couplings", couplings_output)
    if identity.client_secret is not None:   # for the BC side's connection setup; stays a Pulumi secret
        pulumi.export("integrationClientSecret", identity.client_secret)


main()
