"""Checks, before any write, that the calling principal may import solutions.

Business Central's set-up asks for System Administrator and Solution Customizer. System Administrator
is recognised by its role template id (names are translated and can be renamed). For the customizer
role we accept either "Solution Customizer" or "System Customizer" (by name, or System Customizer by
its template id): both carry the solution-import privileges, and tenants commonly hold only the latter.
Roles count held directly or through a team the principal belongs to ("the user needs to have either the
required privilege assigned through a role directly, or needs to be member of a team that has a security role
with the privilege assigned": https://learn.microsoft.com/power-platform/admin/how-record-access-determined);
team roles are read only when the direct ones are not enough, so the usual case stays one request.
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


def _team_roles(dataverse, user_id: str) -> list[dict]:
    """The roles of every team the user is a member of (one request)."""
    teams = dataverse.list(f"systemusers({user_id})/teammembership_association", select=["teamid", "name"],
                           expand="teamroles_association($select=name,_roletemplateid_value)")
    return [role for team in teams for role in team.get("teamroles_association") or []]


def check_can_import(dataverse) -> None:
    """WhoAmI, then the caller's roles (and its teams' if needed); raises DataverseSetupError naming every missing role."""
    me = dataverse.whoami()
    user_id = guid(me["UserId"])
    try:
        roles = dataverse.list(f"systemusers({user_id})/systemuserroles_association")
        missing = missing_import_roles(roles)
        if missing:
            missing = missing_import_roles(roles + _team_roles(dataverse, user_id))
    except Forbidden as refused:   # too few privileges even to read its own roles: System Administrator is missing
        raise DataverseSetupError(
            f"the calling principal (systemuserid {user_id}) cannot import solutions: Dataverse refused to read its "
            f"roles ({refused.status} {refused.code}); it lacks the Dataverse role System Administrator (and needs "
            "Solution Customizer), directly or through a team; assign them in the environment, then run again "
            "(nothing was changed)"
        ) from None
    if missing:
        raise DataverseSetupError(
            f"the calling principal (systemuserid {user_id}) cannot import solutions: it lacks the Dataverse "
            f"role(s) {', '.join(missing)}, directly or through a team; assign them in the environment, then run "
            "again (nothing was changed)"
        )
