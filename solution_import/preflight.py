"""Checks, before any write, that the calling principal may import solutions.

Business Central's set-up asks for System Administrator and Solution Customizer. System Administrator
is recognised by its role template id (names are translated and can be renamed). For the customizer
role we accept either "Solution Customizer" or "System Customizer" (by name, or System Customizer by
its template id): both carry the solution-import privileges, and tenants commonly hold only the latter.
"""
from __future__ import annotations

from mscloud.errors import Forbidden
from mscloud.wellknown import SYSTEM_ADMINISTRATOR_TEMPLATE, SYSTEM_CUSTOMIZER_TEMPLATE
from solution_import.common import DataverseSetupError, guid

CUSTOMIZER_NAMES = ("solution customizer", "system customizer")


def _template(role: dict) -> str | None:
    return guid(role.get("_roletemplateid_value") or role.get("roletemplateid"))


def missing_import_roles(roles: list[dict]) -> list[str]:
    """The names of the required roles the caller lacks (empty when it may import)."""
    missing = []
    if not any(_template(r) == SYSTEM_ADMINISTRATOR_TEMPLATE for r in roles):
        missing.append("System Administrator")
    if not any(
        (r.get("name") or "").strip().lower() in CUSTOMIZER_NAMES or _template(r) == SYSTEM_CUSTOMIZER_TEMPLATE
        for r in roles
    ):
        missing.append("Solution Customizer (or System Customizer)")
    return missing


def check_can_import(dataverse) -> None:
    """WhoAmI, then the caller's roles; raises DataverseSetupError naming every missing role."""
    me = dataverse.whoami()
    user_id = guid(me["UserId"])
    try:
        roles = dataverse.list(f"systemusers({user_id})/systemuserroles_association")
    except Forbidden as refused:   # too few privileges even to read its own roles: System Administrator is missing
        raise DataverseSetupError(
            f"the calling principal (systemuserid {user_id}) cannot import solutions: Dataverse refused to read its "
            f"roles ({refused.status} {refused.code}); it lacks the Dataverse role System Administrator (and needs "
            "Solution Customizer); assign them in the environment, then run again (nothing was changed)"
        ) from None
    missing = missing_import_roles(roles)
    if missing:
        raise DataverseSetupError(
            f"the calling principal (systemuserid {user_id}) cannot import solutions: it lacks the Dataverse "
            f"role(s) {', '.join(missing)}; assign them in the environment, then run again (nothing was changed)"
        )
