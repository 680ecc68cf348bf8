"""The settings' data model: the `bcsi:` keys a stack may set and the typed, frozen values they become."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from mscloud.cloud import CLOUDS as MICROSOFT_CLOUDS
from provisioning.settings.principals import integration_principal_of


NAMESPACE = "bcsi"
CLOUDS = (*MICROSOFT_CLOUDS, "sandbox")   # public, usgov (GCC High), usgov-dod, china; mscloud/cloud.py
IDENTITY_MODES = ("manage", "existing")
# What Business Central signs in to Dataverse with. A federated identity credential is not one of them: it lets a
# pipeline sign in as the app (bcsi:identity.app.federated, beside the credential), BC has nothing to present.
CREDENTIAL_KINDS = ("secret", "certificate")
ENVIRONMENT_KINDS = ("dev", "test", "prod")
MAX_CREDENTIAL_DAYS = 730
DEFAULT_SECRET_EXPIRY_DAYS = 180
SALESPERSON_CODE_MAX = 20  # Business Central's Code[20]

TOP_LEVEL_KEYS = (
    "cloud", "tenantId", "dataverseUrl", "businessCentral", "identity", "licenses",
    "roles", "additionalRoles", "salespersons", "solution", "policy",
)


@dataclass(frozen=True)
class Secret:
    """A secret setting. `encrypted` when read from a file (ciphertext), plain when Pulumi decrypted it."""

    value: str = field(repr=False)
    encrypted: bool


@dataclass(frozen=True)
class UserSettings:
    user_principal_name: str
    display_name: str | None = None
    usage_location: str | None = None


@dataclass(frozen=True)
class FederatedCredentialSettings:
    issuer: str
    subject: str


@dataclass(frozen=True)
class AppSettings:
    """The integration app. `credential` is BC's (secret | certificate); `federated`, when set, is the deployment
    pipeline's sign-in as this same app."""

    display_name: str | None = None
    app_id: str | None = None
    credential: str | None = None
    secret_expiry_days: int | None = None
    certificate_path: str | None = None
    federated: FederatedCredentialSettings | None = None
    client_secret: Secret | None = None


@dataclass(frozen=True)
class IdentitySettings:
    mode: str
    user: UserSettings | None = None
    app: AppSettings | None = None


@dataclass(frozen=True)
class LicenseSettings:
    sku: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    disabled_plans: tuple[str, ...] = ()
    usage_location: str | None = None


@dataclass(frozen=True)
class BusinessCentralSettings:
    environment: str
    company: str | None = None


@dataclass(frozen=True)
class SolutionSettings:
    path: str
    uninstall_on_delete: bool = False


@dataclass(frozen=True)
class PolicySettings:
    """`bcsi:policy`: what the policy pack reads (see policies/README.md); the stack may only tighten the pack."""

    max_credential_days: int | None = None
    allowed_skus: tuple[str, ...] | None = None
    environment_kind: str | None = None
    max_shrink_percent: int | None = None
    verified_domains: tuple[str, ...] | None = None
    forbidden_roles: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Settings:
    source: str
    cloud: str
    identity: IdentitySettings
    tenant_id: str | None = None
    dataverse_url: str | None = None
    business_central: BusinessCentralSettings | None = None
    licenses: Mapping[str, LicenseSettings] = field(default_factory=lambda: MappingProxyType({}))
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    additional_roles: tuple[str, ...] = ()
    salespersons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    solution: SolutionSettings | None = None
    policy: PolicySettings = field(default_factory=PolicySettings)

    @property
    def integration_principal(self) -> str | None:
        """The app's appId when an app is configured, else the user's UPN; None while the stack creates the app."""
        return integration_principal_of(self.identity)
