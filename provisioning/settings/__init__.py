"""Stack settings: the `bcsi:` namespace of stacks/Pulumi.<stack>.yaml, parsed into typed, frozen values.

Every problem is collected before anything is raised, so one `bcsi validate` run shows them all, each as
`file: key: what is wrong (allowed: ...)`. `parse` knows nothing about files, so the Pulumi program can
feed it the values of `pulumi.Config`; `load_stack` reads a stack file for the CLI and tests.

The package, in the order data flows: `sources` (stack file or running stack) -> `sections` (the rules of
each key, walked by `walker`) -> `model` (what they become); `checks` are the reusable checkers of single
values, `principals` the integration's well-known names, `problems` the error lines.
"""
from provisioning.settings.checks import (
    ALLOWED_COUNTRY, ALLOWED_GUID, ALLOWED_SKU, ALLOWED_UPN, ISO_3166_ALPHA2, is_domain, is_upn,
)
from provisioning.settings.model import (
    CLOUDS, CREDENTIAL_KINDS, DEFAULT_SECRET_EXPIRY_DAYS, ENVIRONMENT_KINDS, IDENTITY_MODES, MAX_CREDENTIAL_DAYS,
    NAMESPACE, SALESPERSON_CODE_MAX, TOP_LEVEL_KEYS, AppSettings, BusinessCentralSettings,
    FederatedCredentialSettings, IdentitySettings, LicenseSettings, PolicySettings, Secret, Settings,
    SolutionSettings, UserSettings,
)
from provisioning.settings.principals import (
    ALLOWED_PRINCIPAL, INTEGRATION, INTEGRATION_ROLES, integration_principal_of,
)
from provisioning.settings.problems import SettingsError
from provisioning.settings.sections import parse
from provisioning.settings.sources import from_pulumi_config, load_stack, stack_file

__all__ = [
    "ALLOWED_COUNTRY", "ALLOWED_GUID", "ALLOWED_PRINCIPAL", "ALLOWED_SKU", "ALLOWED_UPN", "CLOUDS",
    "CREDENTIAL_KINDS", "DEFAULT_SECRET_EXPIRY_DAYS", "ENVIRONMENT_KINDS", "IDENTITY_MODES", "INTEGRATION",
    "INTEGRATION_ROLES", "ISO_3166_ALPHA2", "MAX_CREDENTIAL_DAYS", "NAMESPACE", "SALESPERSON_CODE_MAX",
    "TOP_LEVEL_KEYS", "AppSettings", "BusinessCentralSettings", "FederatedCredentialSettings",
    "IdentitySettings", "LicenseSettings", "PolicySettings", "Secret", "Settings", "SettingsError",
    "SolutionSettings", "UserSettings", "from_pulumi_config", "integration_principal_of", "is_domain",
    "is_upn", "load_stack", "parse", "stack_file",
]
