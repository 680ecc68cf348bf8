"""Stack settings: the example stacks validate, and every bad input gets one clear `file: key: problem (allowed: ...)` line."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from provisioning.settings import (
    INTEGRATION_ROLES, Secret, SettingsError, load_stack, parse,
)

from tests.unit.provisioning.examples import ROOT, SAMPLE_ZIP, copy_examples
SOURCE = "stacks/Pulumi.dev.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def base() -> dict:
    """A valid manage-mode config, as Pulumi.<stack>.yaml holds it."""
    return {
        "bcsi:cloud": "public",
        "bcsi:tenantId": "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21",
        "bcsi:dataverseUrl": "https://contoso.crm.dynamics.com/",
        "bcsi:identity": {
            "mode": "manage",
            "user": {"userPrincipalName": "bcintegration@contoso.com", "displayName": "BC integration", "usageLocation": "US"},
            "app": {"displayName": "BC - Sales", "credential": "secret", "secretExpiryDays": 90},
        },
        "bcsi:roles": {"Integration Administrator": ["integration"], "Integration User": ["integration", "ann@contoso.com"]},
        "bcsi:solution": {"path": SAMPLE_ZIP},
    }


def errors(config: dict, **kwargs) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse(config, SOURCE, **kwargs)
    return list(caught.value.lines)


@pytest.mark.parametrize("stack", ["sandbox", "dev", "test", "prod"])
def test_example_stacks_are_valid(project: Path, stack: str):
    settings = load_stack(project, stack)
    assert settings.source == f"stacks/Pulumi.{stack}.yaml"
    assert set(settings.roles) <= set(INTEGRATION_ROLES)
    assert settings.solution.path == SAMPLE_ZIP
    if stack == "prod":
        assert settings.identity.app.credential == "certificate" and settings.identity.app.federated is None


def test_example_stack_files_begin_with_a_comment_on_how_to_adapt_them():
    for path in (ROOT / "stacks").glob("Pulumi.*.yaml"):
        head = path.read_text().splitlines()[0:8]
        assert head[0].startswith("# "), path
        assert any("adapt" in line for line in head), path


def test_sandbox_stack_matches_the_seeded_tenant(project: Path):
    settings = load_stack(project, "sandbox")
    assert settings.cloud == "sandbox" and settings.tenant_id is None
    assert settings.identity.mode == "existing"
    assert settings.identity.user.user_principal_name == "bcintegration@contoso.com"
    assert settings.integration_principal == "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
    assert settings.licenses["DYN365_ENTERPRISE_SALES"].users == ("ann@contoso.com", "bob@contoso.com", "carla@contoso.com")
    assert dict(settings.salespersons) == {"AH": "ann@contoso.com", "BK": "bob@contoso.com"}


def test_the_real_sandbox_stack_validates_in_the_repo():
    if not (ROOT / SAMPLE_ZIP).exists():
        pytest.skip("the sample solution package is not built yet")
    assert load_stack(ROOT, "sandbox").cloud == "sandbox"


def test_stack_file_still_validates_with_the_encryptionsalt_pulumi_writes(project: Path):
    path = project / "stacks" / "Pulumi.sandbox.yaml"
    without_salt = "".join(line for line in path.read_text().splitlines(keepends=True)
                           if not line.startswith("encryptionsalt:"))
    path.write_text(without_salt + "encryptionsalt: v1:Zm9vYmFy:v1:YmF6:cXV4\n")
    assert load_stack(project, "sandbox").cloud == "sandbox"


def test_other_namespaces_and_project_keys_are_left_alone():
    config = base() | {"azuread:tenantId": "whatever", "pulumi:tags": {"a": 1}, "bc-sales-integration:x": [1]}
    assert parse(config, SOURCE).cloud == "public"


def test_keys_without_the_namespace_prefix_are_accepted_for_the_program():
    config = {key.removeprefix("bcsi:"): value for key, value in base().items()}
    assert parse(config, SOURCE).tenant_id == "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21"


def test_a_bad_upn_in_a_role_reads_as_the_contract_shows():
    config = base()
    config["bcsi:roles"]["Integration User"] = ["integration", "ann@"]
    assert errors(config) == [
        "stacks/Pulumi.dev.yaml: bcsi:roles.Integration User[1]: 'ann@' is not a valid user principal name "
        "(allowed: a UPN like name@contoso.com, an application id GUID, or 'integration')"
    ]


def test_all_problems_are_reported_at_once():
    config = base()
    config["bcsi:cloud"] = "azure"
    config["bcsi:identity"]["user"]["usageLocation"] = "USA"
    config["bcsi:roles"]["System Administrator"] = ["ann@contoso.com"]
    config["bcsi:salespersons"] = {"TOO-LONG-SALESPERSON-CODE": "ann@contoso.com"}
    lines = errors(config)
    assert lines == [
        "stacks/Pulumi.dev.yaml: bcsi:cloud: 'azure' is not one of the choices (allowed: public | usgov | usgov-dod | china | sandbox)",
        "stacks/Pulumi.dev.yaml: bcsi:identity.user.usageLocation: 'USA' is not an ISO 3166 alpha-2 country code "
        "(allowed: an ISO 3166 two-letter country code, like US or DK)",
        "stacks/Pulumi.dev.yaml: bcsi:roles.System Administrator: 'System Administrator' is not an integration role "
        "(allowed: Integration Administrator, Integration User, Product Availability User "
        "(other roles: list them in bcsi:additionalRoles))",
        "stacks/Pulumi.dev.yaml: bcsi:salespersons.TOO-LONG-SALESPERSON-CODE: 'TOO-LONG-SALESPERSON-CODE' is not a "
        "salesperson code (allowed: a salesperson code of 1 to 20 characters, quoted if it looks like a number)",
    ]


def test_unknown_keys_name_the_allowed_ones():
    config = base() | {"bcsi:role": {}}
    config["bcsi:identity"]["user"]["mail"] = "x"
    lines = errors(config)
    assert lines[0].startswith("stacks/Pulumi.dev.yaml: bcsi:role: unknown key (allowed: bcsi:cloud, bcsi:tenantId,")
    assert "bcsi:roles" in lines[0]
    assert lines[1] == ("stacks/Pulumi.dev.yaml: bcsi:identity.user.mail: unknown key "
                        "(allowed: userPrincipalName, displayName, usageLocation)")


def test_additional_roles_allow_other_role_names():
    config = base() | {"bcsi:additionalRoles": ["Salesperson"]}
    config["bcsi:roles"]["Salesperson"] = ["bob@contoso.com", "5E0B8F2A-3C7D-4E1F-8A9B-2D6C4F8E1A37"]
    settings = parse(config, SOURCE)
    assert settings.roles["Salesperson"] == ("bob@contoso.com", "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37")


def test_duplicates_within_a_role_are_errors_case_insensitively():
    config = base()
    config["bcsi:roles"]["Integration User"] = ["ann@contoso.com", "Ann@Contoso.com"]
    assert errors(config) == [
        "stacks/Pulumi.dev.yaml: bcsi:roles.Integration User[1]: 'Ann@Contoso.com' is listed twice (first at [0]) "
        "(allowed: each entry once)"
    ]


def test_integration_and_its_own_name_in_one_role_is_a_duplicate():
    config = base()
    config["bcsi:identity"] = {"mode": "existing", "user": {"userPrincipalName": "bcintegration@contoso.com"}}
    config["bcsi:roles"]["Integration User"] = ["integration", "bcintegration@contoso.com"]
    assert errors(config) == [
        "stacks/Pulumi.dev.yaml: bcsi:roles.Integration User: 'integration' and 'bcintegration@contoso.com' name the "
        "same principal (allowed: each principal once)"
    ]


def test_real_clouds_need_tenant_and_dataverse_url_sandbox_does_not():
    config = base()
    del config["bcsi:tenantId"], config["bcsi:dataverseUrl"]
    assert [line.split(": ")[1] for line in errors(config)] == ["bcsi:tenantId", "bcsi:dataverseUrl"]
    config["bcsi:cloud"] = "sandbox"
    assert parse(config, SOURCE).dataverse_url is None


def test_a_pipeline_signing_in_as_the_integration_app_keeps_bcs_credential_beside_its_federated_one():
    """BC signs in to Dataverse with the app's client secret or certificate; a federated identity credential only
    exchanges another issuer's token (a pipeline's) for the app's
    (https://learn.microsoft.com/graph/api/resources/federatedidentitycredentials-overview), and BC has none."""
    config = base()
    federated = {"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:contoso/x:environment:prod"}
    config["bcsi:identity"]["app"]["federated"] = federated
    app = parse(config, SOURCE).identity.app
    assert (app.credential, app.federated.subject) == ("secret", federated["subject"])
    config["bcsi:identity"]["app"] = {"displayName": "a", "credential": "federated", "federated": federated}
    assert errors(config)[0].startswith("stacks/Pulumi.dev.yaml: bcsi:identity.app.credential: 'federated' gives "
                                        "Business Central nothing to sign in to Dataverse with")


@pytest.mark.parametrize("cloud", ["usgov", "usgov-dod", "china"])
def test_business_central_is_refused_where_microsoft_offers_none(cloud):
    """Business Central is not part of Dynamics 365 US Government
    (https://learn.microsoft.com/power-platform/admin/microsoft-dynamics-365-government) and no China host is
    documented: a stack there cannot name a BC environment; without one it is valid."""
    config = {**base(), "bcsi:cloud": cloud, "bcsi:businessCentral": {"environment": "Production"}}
    assert errors(config) == [
        f"stacks/Pulumi.dev.yaml: bcsi:businessCentral: Business Central is not offered in cloud {cloud} "
        f"(allowed: leave bcsi:businessCentral out, or cloud public)"]
    del config["bcsi:businessCentral"]
    assert parse(config, SOURCE).cloud == cloud


@pytest.mark.parametrize("key, value, expected", [
    ("bcsi:tenantId", "contoso.onmicrosoft.com", "bcsi:tenantId: 'contoso.onmicrosoft.com' is not a GUID"),
    ("bcsi:dataverseUrl", "http://contoso.crm.dynamics.com", "bcsi:dataverseUrl: 'http://contoso.crm.dynamics.com' is not an https URL"),
    ("bcsi:dataverseUrl", 42, "bcsi:dataverseUrl: 42 is not an https URL"),
    ("bcsi:roles", ["ann@contoso.com"], "bcsi:roles: a list is not a map"),
    ("bcsi:solution", {"path": "solutions/x.tar"}, "bcsi:solution.path: 'solutions/x.tar' is not a .zip file"),
    ("bcsi:solution", {"path": SAMPLE_ZIP, "uninstallOnDelete": "yes"}, "bcsi:solution.uninstallOnDelete: 'yes' is not true or false"),
    ("bcsi:policy", {"maxCredentialDays": 0}, "bcsi:policy.maxCredentialDays: 0 is not a whole number from 1 to 730"),
    ("bcsi:policy", {"environmentKind": "staging"}, "bcsi:policy.environmentKind: 'staging' is not one of the choices"),
    ("bcsi:policy", {"allowedSkus": ["dyn365"]}, "bcsi:policy.allowedSkus[0]: 'dyn365' is not a SKU part number"),
    ("bcsi:policy", {"maxShrinkPercent": 101}, "bcsi:policy.maxShrinkPercent: 101 is not a whole number from 0 to 100"),
    ("bcsi:policy", {"verifiedDomains": ["contoso"]}, "bcsi:policy.verifiedDomains[0]: 'contoso' is not a domain name"),
    ("bcsi:policy", {"forbiddenRoles": [" Delegate"]}, "bcsi:policy.forbiddenRoles[0]: ' Delegate' has leading or trailing spaces"),
    ("bcsi:licenses", {"Dyn365": {}}, "bcsi:licenses.Dyn365: 'Dyn365' is not a SKU part number"),
    ("bcsi:licenses", {"DYN365_ENTERPRISE_SALES": {"users": ["ann"]}},
     "bcsi:licenses.DYN365_ENTERPRISE_SALES.users[0]: 'ann' is not a valid user principal name"),
    ("bcsi:licenses", {"DYN365_ENTERPRISE_SALES": {"groups": [""]}},
     "bcsi:licenses.DYN365_ENTERPRISE_SALES.groups[0]: '' is not a non-empty text"),
    ("bcsi:licenses", {"DYN365_ENTERPRISE_SALES": {"disabledPlans": ["FLOW DYN"]}},
     "bcsi:licenses.DYN365_ENTERPRISE_SALES.disabledPlans[0]: 'FLOW DYN' is not a service plan name"),
    ("bcsi:salespersons", {"AH": "ann", }, "bcsi:salespersons.AH: 'ann' is not a valid user principal name"),
    ("bcsi:salespersons", {10: "ann@contoso.com"}, "bcsi:salespersons.10: 10 is not a salesperson code"),
    ("bcsi:businessCentral", {"company": "CRONUS"}, "bcsi:businessCentral.environment: is missing"),
])
def test_each_bad_value_has_one_clear_line(key, value, expected):
    config = base() | {key: value}
    lines = errors(config)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{SOURCE}: {expected} (allowed: "), lines[0]
    assert lines[0].endswith(")")


def test_identity_fields_depend_on_the_mode():
    config = base()
    config["bcsi:identity"]["app"]["appId"] = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
    assert errors(config) == [
        "stacks/Pulumi.dev.yaml: bcsi:identity.app.appId: is not used in mode manage (the stack creates the app and "
        "its credential) (allowed: remove it)"
    ]
    config["bcsi:identity"] = {"mode": "existing", "app": {"displayName": "x", "credential": "secret"}}
    lines = errors(config)
    assert [line.split(": ")[1] for line in lines] == [
        "bcsi:identity.app.displayName", "bcsi:identity.app.credential", "bcsi:identity.app.appId"]


@pytest.mark.parametrize("app, problem", [
    ({"displayName": "a", "credential": "password"}, "bcsi:identity.app.credential: 'password' is not one of the choices"),
    ({"displayName": "a", "credential": "secret", "secretExpiryDays": 731}, "bcsi:identity.app.secretExpiryDays: 731 is not a whole number from 1 to 730"),
    ({"displayName": "a", "credential": "secret", "secretExpiryDays": True}, "bcsi:identity.app.secretExpiryDays: true is not a whole number"),
    ({"displayName": "a", "credential": "certificate"}, "bcsi:identity.app.certificatePath: is missing"),
    ({"displayName": "a", "credential": "federated"},
     "bcsi:identity.app.credential: 'federated' gives Business Central nothing to sign in to Dataverse with (a "
     "federated credential is for pipelines) (allowed: secret | certificate, and federated: {issuer, subject} beside "
     "it if the pipeline signs in as this app)"),
    ({"displayName": "a", "credential": "secret", "federated": {"issuer": "token.actions", "subject": "s"}},
     "bcsi:identity.app.federated.issuer: 'token.actions' is not an https URL"),
    ({"displayName": "a", "credential": "secret", "certificatePath": "c.pem"}, "bcsi:identity.app.certificatePath: is not used with credential secret"),
])
def test_credential_settings(app, problem):
    config = base()
    config["bcsi:identity"]["app"] = app
    lines = errors(config)
    assert len(lines) == 1 and lines[0].startswith(f"{SOURCE}: {problem}"), lines


def test_secret_expiry_defaults_and_respects_the_policy():
    config = base()
    del config["bcsi:identity"]["app"]["secretExpiryDays"]
    assert parse(config, SOURCE).identity.app.secret_expiry_days == 180
    config["bcsi:policy"] = {"maxCredentialDays": 90}
    assert errors(config) == [
        "stacks/Pulumi.dev.yaml: bcsi:identity.app.secretExpiryDays: 180 is more than bcsi:policy.maxCredentialDays (allowed: 1..90)"
    ]


def test_licences_outside_the_policy_allow_list_are_errors():
    config = base() | {"bcsi:policy": {"allowedSkus": ["DYN365_ENTERPRISE_SALES"]},
                       "bcsi:licenses": {"DYN365_SALES_PRO": {"users": ["ann@contoso.com"]}}}
    assert errors(config) == [
        "stacks/Pulumi.dev.yaml: bcsi:licenses.DYN365_SALES_PRO: is not in bcsi:policy.allowedSkus (allowed: DYN365_ENTERPRISE_SALES)"
    ]


def test_integration_in_licence_users_is_the_integration_user():
    config = base() | {"bcsi:licenses": {"DYN365_ENTERPRISE_SALES": {"users": ["integration", "ann@contoso.com"]}}}
    assert parse(config, SOURCE).licenses["DYN365_ENTERPRISE_SALES"].users == ("bcintegration@contoso.com", "ann@contoso.com")


def test_files_must_exist_relative_to_the_project(tmp_path: Path):
    config = base()
    config["bcsi:identity"]["app"] = {"displayName": "a", "credential": "certificate", "certificatePath": "certs/app.pem"}
    lines = errors(config, project_dir=tmp_path)
    assert [line.split(": ")[1] for line in lines] == ["bcsi:identity.app.certificatePath", "bcsi:solution.path"]
    assert all("does not exist relative to the project directory" in line for line in lines)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs/app.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "solutions").mkdir()
    (tmp_path / SAMPLE_ZIP).write_bytes(b"PK")
    assert parse(config, SOURCE, project_dir=tmp_path).identity.app.certificate_path == "certs/app.pem"


def test_secure_values_are_allowed_only_where_secrets_go():
    config = base()
    config["bcsi:identity"] = {"mode": "existing", "app": {"appId": "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37",
                                                           "clientSecret": {"secure": "v1:AAAA"}}}
    secret = parse(config, SOURCE).identity.app.client_secret
    assert secret == Secret(value="v1:AAAA", encrypted=True)
    assert "AAAA" not in repr(secret)
    config["bcsi:dataverseUrl"] = {"secure": "v1:BBBB"}
    lines = errors(config)
    assert lines == ["stacks/Pulumi.dev.yaml: bcsi:dataverseUrl: a secure value is not allowed here "
                     "(allowed: a plain value; secrets go only in bcsi:identity.app.clientSecret)"]


def test_a_malformed_secret_is_reported_without_its_value():
    config = base()
    config["bcsi:identity"] = {"mode": "existing", "app": {"appId": "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37",
                                                           "clientSecret": {"value": "hunter2-very-secret"}}}
    lines = errors(config)
    assert len(lines) == 1 and "hunter2" not in lines[0]


def test_malformed_yaml_is_one_line_with_file_and_line_number(project: Path):
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text("config:\n  bcsi:cloud: public\n  bcsi:roles: [a, b\n  bcsi:x: 1\n")
    with pytest.raises(SettingsError) as caught:
        load_stack(project, "dev")
    assert len(caught.value.lines) == 1
    assert caught.value.lines[0].startswith("stacks/Pulumi.dev.yaml:4: invalid YAML: ")


def test_duplicate_keys_in_the_file_are_errors(project: Path):
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text("config:\n  bcsi:cloud: public\n  bcsi:cloud: sandbox\n")
    with pytest.raises(SettingsError) as caught:
        load_stack(project, "dev")
    assert caught.value.lines == ("stacks/Pulumi.dev.yaml:3: invalid YAML: duplicate key 'bcsi:cloud' "
                                  "(allowed: a YAML map with a config: section)",)


def test_a_missing_stack_file_names_the_stacks_there(project: Path):
    with pytest.raises(SettingsError) as caught:
        load_stack(project, "staging")
    assert caught.value.lines == ("stacks/Pulumi.staging.yaml: no such stack file (allowed: stacks dev, prod, sandbox, test)",)


def test_manage_mode_app_leaves_the_integration_principal_to_the_stack():
    settings = parse(base(), SOURCE)
    assert settings.integration_principal is None
    del_app = base()
    del del_app["bcsi:identity"]["app"]
    assert parse(del_app, SOURCE).integration_principal == "bcintegration@contoso.com"


def test_settings_are_frozen():
    settings = parse(base(), SOURCE)
    with pytest.raises(Exception):
        settings.cloud = "china"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.roles["Integration User"] = ()  # type: ignore[index]


def test_example_yaml_round_trips_through_yaml_dump(project: Path):
    """What `pulumi config set --path` rewrites (plain YAML, no comments) still validates."""
    path = project / "stacks" / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text())))
    assert load_stack(project, "prod").identity.app.certificate_path == "certificates/bc-sales-integration-prod.pem"


def test_the_program_reads_the_same_settings_from_pulumi_config():
    import json

    from pulumi.runtime.config import set_all_config
    from provisioning.settings import from_pulumi_config

    values = {key: value if isinstance(value, str) else json.dumps(value) for key, value in base().items()}
    values["azuread:environment"] = "global"
    set_all_config(values)
    try:
        settings = from_pulumi_config(SOURCE)
    finally:
        set_all_config({})
    assert settings == parse(base(), SOURCE)


def test_keys_without_a_namespace_in_a_stack_file_belong_to_the_project_not_to_bcsi(project: Path):
    path = project / "stacks" / "Pulumi.sandbox.yaml"
    path.write_text(path.read_text().replace("  bcsi:cloud: sandbox\n", "  cloud: sandbox\n"))
    with pytest.raises(SettingsError) as caught:
        load_stack(project, "sandbox")
    assert caught.value.lines == ("stacks/Pulumi.sandbox.yaml: bcsi:cloud: is missing (allowed: public | usgov | usgov-dod | china | sandbox)",)


def test_policy_keys_the_policy_pack_reads_are_accepted():
    config = base() | {"bcsi:policy": {"maxCredentialDays": 90, "allowedSkus": ["DYN365_ENTERPRISE_SALES"],
                                       "environmentKind": "prod", "maxShrinkPercent": 30,
                                       "verifiedDomains": ["Contoso.com", "contoso.onmicrosoft.com"],
                                       "forbiddenRoles": ["Delegate"]}}
    policy = parse(config, SOURCE).policy
    assert (policy.max_credential_days, policy.environment_kind, policy.max_shrink_percent) == (90, "prod", 30)
    assert policy.verified_domains == ("contoso.com", "contoso.onmicrosoft.com")
    assert policy.forbidden_roles == ("Delegate",)
