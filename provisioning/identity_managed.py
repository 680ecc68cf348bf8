"""Mode `manage` of the integration identity (provisioning/identity.py), declared with pulumi-azuread.

The integration user (password generated once, kept as a secret), the app registration with the Dynamics CRM and
Business Central permissions, its service principal, the credential Business Central signs in with (a secret or a
certificate; besides it a federated credential when the pipeline signs in as the same app), and admin consent, all
through one azuread provider set to the stack's cloud, so a usgov or china stack never talks to the worldwide Graph.

A module of its own because importing pulumi-azuread takes about a tenth of a second of every program start: only
stacks in mode `manage` import it.
"""
from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pulumi_azuread as azuread

from mscloud.cloud import CLOUDS
from mscloud.wellknown import (BUSINESS_CENTRAL_API_READWRITE_ALL, BUSINESS_CENTRAL_APP_ID, DYNAMICS_CRM_APP_ID,
                                DYNAMICS_CRM_USER_IMPERSONATION, DYNAMICS_CRM_USER_IMPERSONATION_SCOPE, FEDERATED_AUDIENCE,
                                STACK_SECRET_NAME)
from provisioning.passwords import CredentialWindow, GeneratedPassword
from provisioning.settings import IdentitySettings


def required_resource_accesses() -> list[azuread.ApplicationRequiredResourceAccessArgs]:
    """What the app asks for: Dataverse as the signed-in user, Business Central web services as itself."""
    return [
        azuread.ApplicationRequiredResourceAccessArgs(
            resource_app_id=DYNAMICS_CRM_APP_ID,
            resource_accesses=[azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                id=DYNAMICS_CRM_USER_IMPERSONATION, type="Scope")],
        ),
        azuread.ApplicationRequiredResourceAccessArgs(
            resource_app_id=BUSINESS_CENTRAL_APP_ID,
            resource_accesses=[azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                id=BUSINESS_CENTRAL_API_READWRITE_ALL, type="Role")],
        ),
    ]


def mail_nickname(user_principal_name: str) -> str:
    """The alias part of a UPN with the characters mailNickname refuses removed (at most 64)."""
    alias = user_principal_name.split("@", 1)[0]
    return re.sub(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]", "", alias)[:64] or "bcintegration"


class ManagedIdentity:
    """Declares mode `manage` as children of the IntegrationIdentity `component` and sets the component's outputs
    (user_principal_name, app_id, service_principal_id, integration_principal, client_secret)."""

    def __init__(self, component: pulumi.ComponentResource, name: str, cloud: str, tenant_id: str | None):
        """Every azuread resource and lookup below goes through one provider set to the stack's cloud (the
        sandbox has none of its own: the provider's default)."""
        self.component = component
        self._child = pulumi.ResourceOptions(parent=component)
        known = CLOUDS.get(cloud)
        self.provider = azuread.Provider(
            f"{name}-azuread", environment=known.azuread_environment if known else None, tenant_id=tenant_id,
            opts=self._child)
        self._azuread = pulumi.ResourceOptions(parent=component, provider=self.provider)
        self._invoke = pulumi.InvokeOutputOptions(parent=component, provider=self.provider)

    def declare(self, name: str, identity: IdentitySettings, project_dir: Path) -> None:
        out = self.component
        out.user_principal_name = pulumi.Output.from_input(None)
        out.app_id = pulumi.Output.from_input(None)
        out.service_principal_id = pulumi.Output.from_input(None)
        if identity.user is not None:
            self.user = self._user(name, identity)
            out.user_principal_name = self.user.user_principal_name
        if identity.app is not None:
            self._app(name, identity, project_dir)
        out.integration_principal = out.app_id if identity.app is not None else out.user_principal_name

    def _user(self, name: str, identity: IdentitySettings) -> azuread.User:
        settings = identity.user
        password = GeneratedPassword(f"{name}-user-password", opts=self._child)
        return azuread.User(
            f"{name}-user",
            user_principal_name=settings.user_principal_name,
            display_name=settings.display_name,
            mail_nickname=mail_nickname(settings.user_principal_name),
            usage_location=settings.usage_location,
            account_enabled=True,
            password=pulumi.Output.secret(password.result),
            force_password_change=False,
            # The sync account signs in without a person: an expiring password would stop the integration.
            disable_password_expiration=True,
            opts=self._azuread,
        )

    def _app(self, name: str, identity: IdentitySettings, project_dir: Path) -> None:
        settings = identity.app
        app = azuread.Application(
            f"{name}-app",
            display_name=settings.display_name,
            sign_in_audience="AzureADMyOrg",
            required_resource_accesses=required_resource_accesses(),
            opts=self._azuread,
        )
        principal = azuread.ServicePrincipal(f"{name}-sp", client_id=app.client_id, opts=self._azuread)
        self.application, self.service_principal = app, principal
        self.component.app_id = app.client_id
        self.component.service_principal_id = principal.object_id
        self._credential(name, settings, app, project_dir)
        self._consent(name, principal)

    def _credential(self, name: str, settings, app: azuread.Application, project_dir: Path) -> None:
        if settings.credential == "secret":
            window = CredentialWindow(f"{name}-secret-window", days=settings.secret_expiry_days, opts=self._child)
            self.credential = azuread.ApplicationPassword(
                f"{name}-secret", application_id=app.id, display_name=STACK_SECRET_NAME,
                start_date=window.startDate, end_date=window.endDate,
                opts=pulumi.ResourceOptions.merge(self._azuread, pulumi.ResourceOptions(additional_secret_outputs=["value"])),
            )
            self.component.client_secret = pulumi.Output.secret(self.credential.value)
        else:
            path = Path(settings.certificate_path)
            pem = (path if path.is_absolute() else project_dir / path).read_text(encoding="utf-8")
            self.credential = azuread.ApplicationCertificate(
                f"{name}-certificate", application_id=app.id, type="AsymmetricX509Cert", encoding="pem",
                value=pem, opts=self._azuread,
            )
        if settings.federated is not None:   # the pipeline signs in as this app; BC keeps the credential above
            federated = settings.federated
            self.federated_credential = azuread.ApplicationFederatedIdentityCredential(
                f"{name}-federated", application_id=app.id, display_name=f"{name}-pipeline",
                description="bcsi: tokens of the deployment pipeline", issuer=federated.issuer,
                subject=federated.subject, audiences=[FEDERATED_AUDIENCE], opts=self._azuread,
            )

    def _consent(self, name: str, principal: azuread.ServicePrincipal) -> None:
        """Admin consent: the BC app role to the app, the Dataverse scope for all users of the app."""
        # The first-party service principals exist in every tenant with these apps: look them up, never own them.
        crm = azuread.get_service_principal_output(client_id=DYNAMICS_CRM_APP_ID, opts=self._invoke)
        business_central = azuread.get_service_principal_output(client_id=BUSINESS_CENTRAL_APP_ID, opts=self._invoke)
        self.app_role_assignment = azuread.AppRoleAssignment(
            f"{name}-bc-api-readwrite-all", app_role_id=BUSINESS_CENTRAL_API_READWRITE_ALL,
            principal_object_id=principal.object_id, resource_object_id=business_central.object_id,
            opts=self._azuread,
        )
        self.delegated_grant = azuread.ServicePrincipalDelegatedPermissionGrant(
            f"{name}-crm-user-impersonation", service_principal_object_id=principal.object_id,
            resource_service_principal_object_id=crm.object_id, claim_values=[DYNAMICS_CRM_USER_IMPERSONATION_SCOPE],
            opts=self._azuread,
        )
