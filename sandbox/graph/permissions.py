"""Which Graph application permissions (token `roles`) allow which operation, as Graph's docs list them."""
from __future__ import annotations

from .errors import forbidden

_DIR_READ = {"Directory.Read.All", "Directory.ReadWrite.All"}
_DIR_WRITE = {"Directory.ReadWrite.All"}

READ_USERS = {"User.Read.All", "User.ReadWrite.All", "User.ReadBasic.All"} | _DIR_READ
WRITE_USERS = {"User.ReadWrite.All"} | _DIR_WRITE
READ_LICENCES = READ_USERS | {"LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All"}
ASSIGN_USER_LICENCE = {"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All"} | _DIR_WRITE
READ_GROUPS = {"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All"} | _DIR_READ
WRITE_GROUPS = {"Group.ReadWrite.All", "Group.Create"} | _DIR_WRITE
WRITE_MEMBERS = {"GroupMember.ReadWrite.All", "Group.ReadWrite.All"} | _DIR_WRITE
ASSIGN_GROUP_LICENCE = {"LicenseAssignment.ReadWrite.All", "Group.ReadWrite.All"} | _DIR_WRITE
READ_SKUS = {"Organization.Read.All", "Organization.ReadWrite.All", "LicenseAssignment.Read.All",
             "LicenseAssignment.ReadWrite.All"} | _DIR_READ
READ_ORGANIZATION = {"Organization.Read.All", "Organization.ReadWrite.All", "User.Read.All"} | _DIR_READ
READ_DOMAINS = {"Domain.Read.All", "Domain.ReadWrite.All"} | _DIR_READ
READ_APPS = {"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"} | _DIR_READ
WRITE_APPS = {"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"}
WRITE_ROLE_ASSIGNMENTS = {"AppRoleAssignment.ReadWrite.All"}
READ_GRANTS = {"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All"} | _DIR_READ
WRITE_GRANTS = {"DelegatedPermissionGrant.ReadWrite.All"}


def require(ctx, allowed: set[str]) -> None:
    """403 Authorization_RequestDenied unless the token carries one of `allowed`."""
    roles = set((ctx.claims or {}).get("roles") or [])
    if not roles & allowed:
        raise forbidden()
