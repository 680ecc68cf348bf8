"""IntegrationIdentity against Pulumi's own mocks: the exact azuread inputs, secrets kept secret, nothing in mode existing."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc

from mscloud.wellknown import (
    BUSINESS_CENTRAL_API_READWRITE_ALL, BUSINESS_CENTRAL_APP_ID, DYNAMICS_CRM_APP_ID, DYNAMICS_CRM_USER_IMPERSONATION,
)
from provisioning.identity import IntegrationIdentity
from provisioning.identity_managed import mail_nickname
from provisioning.settings import (
    AppSettings, FederatedCredentialSettings, IdentitySettings, Secret, UserSettings,
)

APP_ID = "11111111-2222-4333-8444-555555555555"
PASSWORD = "Mock-Password-1!abcdefghijklmnop"
SECRET_TEXT = "mock-client-secret-value"
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class Recorder(pulumi.runtime.Mocks):
    """Answers like the providers would and records every declared resource with its raw inputs."""

    def __init__(self):
        self.resources: dict[str, tuple[str, dict]] = {}
        self.providers: dict[str, str | None] = {}          # resource name -> the provider reference it uses
        self.calls: list[tuple[str, dict]] = []
        self.call_providers: list[str | None] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources[args.name] = (args.typ, args.inputs)
        self.providers[args.name] = args.provider
        outputs = {key: rpc.unwrap_rpc_secret(value) for key, value in args.inputs.items() if not key.startswith("__")}
        typ = args.typ
        if typ == "azuread:index/application:Application":
            return "/applications/app-object-id", outputs | {"client_id": APP_ID, "object_id": "app-object-id"}
        if typ == "azuread:index/servicePrincipal:ServicePrincipal":
            return "sp-object-id", outputs | {"object_id": "sp-object-id"}
        if typ.endswith("dynamic/bcsi:GeneratedPassword"):
            return "pw", outputs | {"result": PASSWORD}
        if typ.endswith("dynamic/bcsi:CredentialWindow"):
            return "win", outputs | {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-03-02T00:00:00Z"}
        if typ == "azuread:index/applicationPassword:ApplicationPassword":
            return "pwd", outputs | {"value": SECRET_TEXT, "key_id": "k"}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, args.args))
        self.call_providers.append(args.provider)
        if args.token == "azuread:index/getServicePrincipal:getServicePrincipal":
            return {"objectId": f"sp-of-{args.args['clientId']}", "clientId": args.args["clientId"]}, []
        return {}, []

    def of_type(self, suffix: str) -> list[tuple[str, dict]]:
        return [(name, inputs) for name, (typ, inputs) in self.resources.items() if typ.endswith(suffix)]

    def one(self, suffix: str) -> dict:
        found = self.of_type(suffix)
        assert len(found) == 1, (suffix, list(self.resources))
        return found[0][1]


def declare(identity: IdentitySettings, project_dir: Path = Path("."), **where) -> tuple[Recorder, dict]:
    """Declare the component under mocks; returns the recorder and the resolved outputs (and their secretness)."""
    mocks = Recorder()
    # Pulumi's mocks run on the thread's current event loop; an earlier asyncio.run() may have cleared it.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(mocks, preview=False)
    seen: dict = {}

    @pulumi.runtime.test
    def run():
        component = IntegrationIdentity("bcsi", identity, project_dir=project_dir, **where)
        secret = component.client_secret
        return pulumi.Output.all(
            component.integration_principal, component.user_principal_name, component.app_id,
            component.service_principal_id, secret if secret is not None else None,
            pulumi.Output.from_input(secret.is_secret()) if secret is not None else None,
        ).apply(lambda values: seen.update(zip(
            ("integration_principal", "user_principal_name", "app_id", "service_principal_id",
             "client_secret", "client_secret_is_secret"), values)))

    run()
    return mocks, seen


USER = UserSettings("bcintegration@contoso.com", "BC Sales integration", "DK")


def manage(**app) -> IdentitySettings:
    return IdentitySettings(mode="manage", user=USER,
                            app=AppSettings(display_name="BC - Sales", **app) if app else None)


def test_existing_mode_declares_nothing_and_hands_on_the_configured_names():
    identity = IdentitySettings(mode="existing", user=UserSettings("bcintegration@contoso.com"),
                                app=AppSettings(app_id="5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"))
    mocks, seen = declare(identity)
    assert [typ for typ, _ in mocks.resources.values()] == ["bcsi:identity:IntegrationIdentity"]
    assert mocks.calls == []
    assert seen["integration_principal"] == "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
    assert seen["user_principal_name"] == "bcintegration@contoso.com"
    assert seen["service_principal_id"] is None and seen["client_secret"] is None


def test_existing_mode_with_only_a_user_uses_its_upn_and_keeps_a_given_client_secret_secret():
    identity = IdentitySettings(mode="existing", user=UserSettings("bcintegration@contoso.com"),
                                app=None)
    assert declare(identity)[1]["integration_principal"] == "bcintegration@contoso.com"
    identity = IdentitySettings(mode="existing", app=AppSettings(app_id=APP_ID, client_secret=Secret("s3cr3t", False)))
    seen = declare(identity)[1]
    assert seen["client_secret"] == "s3cr3t" and seen["client_secret_is_secret"] is True


def test_existing_mode_refuses_a_still_encrypted_secret():
    identity = IdentitySettings(mode="existing", app=AppSettings(app_id=APP_ID, client_secret=Secret("v1:x", True)))
    with pytest.raises(ValueError, match="still encrypted"):
        declare(identity)


def test_manage_mode_user_gets_a_generated_secret_password():
    mocks, seen = declare(manage())
    user = mocks.one("azuread:index/user:User")
    assert rpc.is_rpc_secret(user["password"]), "the password must reach the engine as a secret"
    assert rpc.unwrap_rpc_secret(user["password"]) == PASSWORD
    assert {k: user[k] for k in ("userPrincipalName", "displayName", "mailNickname", "usageLocation",
                                 "accountEnabled", "forcePasswordChange")} == {
        "userPrincipalName": "bcintegration@contoso.com", "displayName": "BC Sales integration",
        "mailNickname": "bcintegration", "usageLocation": "DK", "accountEnabled": True, "forcePasswordChange": False}
    assert mocks.of_type("dynamic/bcsi:GeneratedPassword")
    assert not mocks.of_type("azuread:index/application:Application")
    assert seen["integration_principal"] == "bcintegration@contoso.com"


def test_manage_mode_app_asks_for_the_right_permissions_and_consents_to_them():
    mocks, seen = declare(manage(credential="secret", secret_expiry_days=60))
    app = mocks.one("azuread:index/application:Application")
    assert app["displayName"] == "BC - Sales" and app["signInAudience"] == "AzureADMyOrg"
    assert app["requiredResourceAccesses"] == [
        {"resourceAppId": "00000007-0000-0000-c000-000000000000",
         "resourceAccesses": [{"id": "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4", "type": "Scope"}]},
        {"resourceAppId": "996def3d-b36c-4153-8607-a6fd3c01b89f",
         "resourceAccesses": [{"id": "a42b0b75-311e-488d-b67e-8fe84f924341", "type": "Role"}]},
    ]
    assert mocks.one("azuread:index/servicePrincipal:ServicePrincipal")["clientId"] == APP_ID
    looked_up = sorted(args["clientId"] for token, args in mocks.calls)
    assert looked_up == sorted([DYNAMICS_CRM_APP_ID, BUSINESS_CENTRAL_APP_ID])
    assert mocks.one("azuread:index/appRoleAssignment:AppRoleAssignment") == {
        "appRoleId": BUSINESS_CENTRAL_API_READWRITE_ALL, "principalObjectId": "sp-object-id",
        "resourceObjectId": f"sp-of-{BUSINESS_CENTRAL_APP_ID}"}
    grant = mocks.one("azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant")
    assert grant == {"servicePrincipalObjectId": "sp-object-id", "resourceServicePrincipalObjectId":
                     f"sp-of-{DYNAMICS_CRM_APP_ID}", "claimValues": ["user_impersonation"]}
    assert DYNAMICS_CRM_USER_IMPERSONATION == "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4"
    assert seen["integration_principal"] == APP_ID and seen["app_id"] == APP_ID
    assert seen["service_principal_id"] == "sp-object-id"
    # the first-party service principals are looked up, never declared (destroy must not delete them)
    assert len(mocks.of_type("azuread:index/servicePrincipal:ServicePrincipal")) == 1


def test_client_secret_has_a_stable_expiry_and_stays_secret():
    mocks, seen = declare(manage(credential="secret", secret_expiry_days=60))
    window = mocks.one("dynamic/bcsi:CredentialWindow")
    assert window["days"] == 60
    password = mocks.one("azuread:index/applicationPassword:ApplicationPassword")
    assert password["applicationId"] == "/applications/app-object-id"
    assert password["endDate"] == "2026-03-02T00:00:00Z" and password["startDate"] == "2026-01-01T00:00:00Z"
    assert "endDateRelative" not in password
    assert seen["client_secret"] == SECRET_TEXT and seen["client_secret_is_secret"] is True


def test_certificate_credential_reads_the_pem_file(tmp_path: Path):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "app.pem").write_text(CERT)
    mocks, seen = declare(manage(credential="certificate", certificate_path="certs/app.pem"), project_dir=tmp_path)
    certificate = mocks.one("azuread:index/applicationCertificate:ApplicationCertificate")
    assert rpc.unwrap_rpc_secret(certificate.pop("value")) == CERT
    assert certificate == {"applicationId": "/applications/app-object-id", "type": "AsymmetricX509Cert", "encoding": "pem"}
    assert not mocks.of_type("applicationPassword:ApplicationPassword")
    assert seen["client_secret"] is None


def test_a_pipeline_signing_in_as_the_app_gets_a_federated_credential_beside_bcs_certificate(tmp_path: Path):
    """BC signs in to Dataverse with a secret or a certificate; the federated credential only lets the pipeline in."""
    (tmp_path / "app.pem").write_text(CERT)
    federated = FederatedCredentialSettings("https://token.actions.githubusercontent.com", "repo:contoso/x:environment:prod")
    mocks, _ = declare(manage(credential="certificate", certificate_path="app.pem", federated=federated),
                       project_dir=tmp_path)
    credential = mocks.one("azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")
    assert credential["issuer"] == federated.issuer and credential["subject"] == federated.subject
    assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert credential["applicationId"] == "/applications/app-object-id"
    assert mocks.one("azuread:index/applicationCertificate:ApplicationCertificate")
    assert not mocks.of_type("applicationPassword:ApplicationPassword")


def test_mail_nickname_drops_characters_entra_refuses():
    assert mail_nickname("bc.integration@contoso.com") == "bcintegration"
    assert mail_nickname("a" * 80 + "@contoso.com") == "a" * 64


@pytest.mark.parametrize("cloud, environment", [
    ("public", "public"), ("usgov", "usgovernment"), ("usgov-dod", "dod"), ("china", "china")])
def test_manage_mode_talks_to_the_stacks_cloud_only(cloud, environment):
    """One explicit azuread provider with the cloud's `environment` (pulumi-azuread: global/public, usgovernment
    (L4), dod (L5), china) and the stack's tenant; every azuread resource and lookup goes through it, so a usgov or
    china stack never reaches the worldwide Graph (which the provider's default, `public`, would)."""
    tenant = "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21"
    mocks, _ = declare(manage(credential="secret", secret_expiry_days=60), cloud=cloud, tenant_id=tenant)
    (name, inputs), = mocks.of_type("pulumi:providers:azuread")
    assert inputs["environment"] == environment and inputs["tenantId"] == tenant
    azuread_resources = [n for n, (typ, _) in mocks.resources.items() if typ.startswith("azuread:")]
    assert len(azuread_resources) == 6   # user, app, service principal, secret, app role, delegated grant
    assert {n: f"::{name}::" in (mocks.providers[n] or "") for n in azuread_resources} == dict.fromkeys(
        azuread_resources, True), mocks.providers
    assert len(mocks.call_providers) == 2 and all(f"::{name}::" in (p or "") for p in mocks.call_providers)
