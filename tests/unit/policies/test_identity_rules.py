"""The credential rules on the azuread resources the identity component really declares (Pulumi's own mocks):
the engine tests cannot preview azuread resources here, because its provider plugin cannot be installed."""
from datetime import datetime, timezone

from pulumi.runtime import rpc

from policies.rules import credential_max_lifetime, prod_no_client_secrets
from provisioning.settings import FederatedCredentialSettings
from tests.unit.provisioning.test_identity import CERT, declare, manage

PROD = {"environmentKind": "prod", "maxCredentialDays": 180}


def declared(identity, **options):
    """(type, plain inputs) of every resource the component declares."""
    mocks, _ = declare(identity, **options)
    return [(typ, {k: rpc.unwrap_rpc_secret(v) for k, v in inputs.items()}) for typ, inputs in mocks.resources.values()]


def violations(rule, resources, config, **kwargs):
    return [message for typ, props in resources for message in rule(typ, props, config, **kwargs)]


def test_a_client_secret_within_the_window_passes_in_dev_and_is_refused_in_prod():
    resources = declared(manage(credential="secret", secret_expiry_days=60))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert violations(credential_max_lifetime, resources, {"maxCredentialDays": 180}, now=start) == []
    assert len(violations(credential_max_lifetime, resources, {"maxCredentialDays": 30}, now=start)) == 2  # window + password
    refused = violations(prod_no_client_secrets, resources, PROD)
    assert refused and all("prod stack" in message for message in refused)


def test_a_certificate_with_the_pipelines_federated_credential_passes_the_prod_rule(tmp_path):
    (tmp_path / "app.pem").write_text(CERT)
    federated = FederatedCredentialSettings("https://token.actions.githubusercontent.com", "repo:contoso/x:environment:prod")
    resources = declared(manage(credential="certificate", certificate_path="app.pem", federated=federated),
                         project_dir=tmp_path)
    assert violations(prod_no_client_secrets, resources, PROD) == []
