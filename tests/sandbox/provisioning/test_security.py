"""Security (issue #8): least privilege is enforced and explained; tokens and secrets never reach output.

- A pipeline app lacking the Graph licence permission gets Graph's real 403 and our one clear line, and one
  lacking System Administrator in Dataverse is stopped before the import; neither writes anything.
- An app holding exactly the documented minimum runs the sandbox stack end to end (`pulumi up`).
- Tokens msal fetched in this process, and the client secret, appear in no CLI output and no log record.
"""
from __future__ import annotations

import logging
import os

import pytest
import yaml
from click.testing import CliRunner

from mscloud.connection import clients_for, connection
from mscloud.credentials import ClientCredential, CredentialError
from mscloud.errors import ServiceError
from provisioning.cli import main as bcsi
from provisioning.licenses import LicenseAssignmentProvider
from solution_import.common import DataverseSetupError
from solution_import.package import read_package
from solution_import.solution import IntegrationSolutionProvider
from tests.sandboxkit import ROOT

pytestmark = pytest.mark.sandbox

DEFAULT_SEED = ROOT / "sandbox" / "seeds" / "default.yaml"
SALES = "DYN365_ENTERPRISE_SALES"
PIPELINE_APP = "0c1c9a1e-6d1b-4a43-9a35-4f1d1f2b7c10"
# What the pipeline identity needs for the sandbox stack (identity mode `existing`), read off the calls the code makes.
MINIMUM_GRAPH_ROLES = ["LicenseAssignment.ReadWrite.All", "User.Read.All"]
MINIMUM_BC_ROLES = ["API.ReadWrite.All"]
MINIMUM_DATAVERSE_ROLES = ["System Administrator", "Solution Customizer"]


def seed_with(tmp_path, graph_roles, dataverse_roles, bc_roles=MINIMUM_BC_ROLES):
    """The default seed with the pipeline app's Graph / BC application permissions and Dataverse roles replaced."""
    seed = yaml.safe_load(DEFAULT_SEED.read_text())
    admin = next(app for app in seed["identity"]["apps"] if app.get("admin"))
    admin["graphRoles"], admin["businessCentralRoles"] = list(graph_roles), list(bc_roles)
    org = seed["dataverse"]["orgs"][0]
    app_user = next(u for u in org["applicationUsers"] if u["applicationid"] == PIPELINE_APP)
    app_user["roles"] = list(dataverse_roles)
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    return path


def test_missing_permissions_give_the_real_403_and_a_clear_line_and_write_nothing(tmp_path, start_sandbox):
    seed = seed_with(tmp_path, ["User.Read.All", "Organization.Read.All"], ["Solution Customizer"])
    cloud = start_sandbox(tmp_path / "data", seed=seed)
    conn = connection("sandbox", sandbox_dir=cloud.data_dir)
    cloud.reset_metrics()

    licences = LicenseAssignmentProvider()
    props = licences.check({}, {"connection": conn, "skuPartNumber": SALES, "users": ["ann@contoso.com"],
                                "groups": [], "disabledPlans": [], "usageLocation": None}).inputs
    with pytest.raises(Exception) as refused:
        licences.create(props)
    text = str(refused.value)
    assert len(text.splitlines()) == 1, text
    assert "403" in text and "Authorization_RequestDenied" in text, text
    assert "assignLicense" in text or "$batch" in text or "ann@contoso.com" in text, text

    package = read_package(ROOT / "solutions" / "BcSalesIntegrationSample_1_0_0_0.zip")
    with pytest.raises(DataverseSetupError) as stopped:
        IntegrationSolutionProvider().create({
            "connection": conn, "environmentUrl": cloud.endpoints["dataverse"], "packagePath": package.path,
            "packageSha256": package.sha256, "uniqueName": package.unique_name, "version": package.version,
            "uninstallOnDelete": False, "importTimeoutSeconds": 60})
    assert "System Administrator" in str(stopped.value) and len(str(stopped.value).splitlines()) == 1
    assert cloud.metrics()["writes"] == 0


@pytest.mark.engine
def test_the_documented_minimum_runs_the_sandbox_stack(tmp_path, start_sandbox):
    from tests.engine.test_reliability import assert_no_duplicates, live_state, sandbox_stack

    cloud = start_sandbox(tmp_path / "data", seed=seed_with(tmp_path, MINIMUM_GRAPH_ROLES, MINIMUM_DATAVERSE_ROLES))
    stack = sandbox_stack(tmp_path, cloud)
    up = stack.run("up", "--yes", "--skip-preview", check=False)
    assert up.returncode == 0, up.stdout + up.stderr
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert state["licences"][SALES] == ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]
    assert state["holders"]["Product Availability User"] == ["ann@contoso.com", "bob@contoso.com"]


def test_tokens_and_secret_never_reach_output_or_logs(sandbox, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BCSI_SANDBOX_DIR", str(sandbox.data_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    caplog.set_level(logging.DEBUG)
    outputs = []
    for command in (["plan", "--stack", "sandbox", "--format", "json"], ["check", "--stack", "sandbox"]):
        result = CliRunner().invoke(bcsi, [*command, "--project-dir", str(ROOT)])
        assert result.exit_code in (0, 1, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        outputs.append(result.output)

    clients = clients_for(connection("sandbox", sandbox_dir=sandbox.data_dir))
    tokens = {clients.tokens.token("https://graph.microsoft.com/.default"),
              clients.tokens.token(f"{sandbox.endpoints['dataverse']}/.default")}
    secret = sandbox.endpoints["client_secret"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for text in (*outputs, logged, repr(clients.credential), str(clients.credential)):
        assert secret not in text
        for token in tokens:
            assert token not in text
    assert [p for p in (tmp_path / "home").rglob("*")] == []   # no token cache file was written


def test_a_refused_secret_is_one_line_without_the_secret(sandbox):
    cloud = clients_for(connection("sandbox", sandbox_dir=sandbox.data_dir)).cloud
    wrong = "wrong-secret-value-0815"
    credential = ClientCredential(cloud.tenant_id, PIPELINE_APP, "secret", secret=wrong)
    from mscloud import connect

    clients = connect(cloud, credential)
    with pytest.raises((CredentialError, ServiceError)) as refused:
        clients.graph.list("/subscribedSkus")
    text = str(refused.value)
    assert "AADSTS7000215" in text and wrong not in text and len(text.splitlines()) == 1
    assert wrong not in repr(credential)
    assert os.environ.get("AZURE_CLIENT_SECRET") is None or os.environ["AZURE_CLIENT_SECRET"] not in text
