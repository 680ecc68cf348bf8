"""The integration identity in Entra ID (seed step 1), as one component.

Mode `manage` declares the user, app, credential and consent with pulumi-azuread (provisioning/identity_managed.py,
imported only then). Mode `existing` declares nothing and hands on the configured UPN / app id: stacks on the
sandbox use it, because the azuread plugin cannot be installed there.
"""
from __future__ import annotations

from pathlib import Path

import pulumi

from provisioning.settings import IdentitySettings

COMPONENT_TYPE = "bcsi:identity:IntegrationIdentity"
PROJECT_DIR = Path(__file__).resolve().parents[1]


class IntegrationIdentity(pulumi.ComponentResource):
    """The integration user and/or app; `integration_principal` is what `integration` means in role lists."""

    integration_principal: pulumi.Output[str]
    user_principal_name: pulumi.Output[str | None]
    app_id: pulumi.Output[str | None]
    service_principal_id: pulumi.Output[str | None]
    client_secret: pulumi.Output[str] | None

    def __init__(self, name: str, identity: IdentitySettings, project_dir: str | Path = PROJECT_DIR,
                 opts: pulumi.ResourceOptions | None = None, cloud: str = "public", tenant_id: str | None = None):
        """`project_dir` anchors relative file settings (certificatePath); the engine's cwd may differ.
        `cloud` and `tenant_id` (bcsi:cloud, bcsi:tenantId) point the azuread provider of mode `manage`."""
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.client_secret = None
        if identity.mode == "existing":
            self._existing(identity)
        else:
            from provisioning.identity_managed import ManagedIdentity   # pulumi-azuread: only this mode needs it
            ManagedIdentity(self, name, cloud, tenant_id).declare(name, identity, Path(project_dir))
        self.register_outputs({
            "integrationPrincipal": self.integration_principal,
            "userPrincipalName": self.user_principal_name,
            "appId": self.app_id,
            "servicePrincipalId": self.service_principal_id,
            "clientSecret": self.client_secret,
        })

    def _existing(self, identity: IdentitySettings) -> None:
        user, app = identity.user, identity.app
        self.user_principal_name = pulumi.Output.from_input(user.user_principal_name if user else None)
        self.app_id = pulumi.Output.from_input(app.app_id if app else None)
        self.service_principal_id = pulumi.Output.from_input(None)
        self.integration_principal = self.app_id if app else self.user_principal_name
        if app and app.client_secret is not None:
            if app.client_secret.encrypted:
                raise ValueError("bcsi:identity.app.clientSecret is still encrypted: read settings through pulumi.Config")
            self.client_secret = pulumi.Output.secret(app.client_secret.value)
