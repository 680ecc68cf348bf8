"""Who `integration` stands for, and the checker for a principal in bcsi:roles (the names come from
mscloud/wellknown.py, the one home of the integration's names and ids)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mscloud.wellknown import INTEGRATION, INTEGRATION_ROLES
from provisioning.settings.checks import ALLOWED_UPN, GUID_PATTERN, Checker, is_upn

if TYPE_CHECKING:
    from provisioning.settings.model import IdentitySettings


ALLOWED_PRINCIPAL = f"{ALLOWED_UPN}, an application id GUID, or '{INTEGRATION}'"


def integration_principal_of(identity: IdentitySettings) -> str | None:
    """Which principal the word `integration` stands for, when the settings alone decide it."""
    if identity.app is not None:
        return identity.app.app_id
    if identity.user is not None:
        return identity.user.user_principal_name
    return None


class Principal(Checker):
    """A principal in bcsi:roles: `integration`, an application id (lower-cased) or a user's UPN."""

    name = "a valid user principal name"
    allowed = ALLOWED_PRINCIPAL

    def convert(self, value: Any) -> str:
        if value == INTEGRATION:
            return INTEGRATION
        if isinstance(value, str) and GUID_PATTERN.match(value):
            return value.lower()
        if not is_upn(value):
            self.refuse(value)
        return value


PRINCIPAL = Principal()
