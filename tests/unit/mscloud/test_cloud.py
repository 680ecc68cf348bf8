"""Cloud tables, the sandbox cloud from endpoints.json, and credentials from an environment dict."""
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mscloud.cloud import CloudError, cloud_named, sandbox_cloud
from mscloud.credentials import ClientCredential, CredentialError

ENDPOINTS = {
    "authority": "https://127.0.0.1:9443/7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21",
    "tenant_id": "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21",
    "graph": "https://127.0.0.1:9443/v1.0",
    "dataverse": "https://127.0.0.1:9443/orgs/contoso",
    "business_central": "https://127.0.0.1:9443/bc/v2.0/7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21/Production/api/v2.0",
    "ca_file": "/tmp/x/ca.pem",
    "client_id": "0c1c9a1e-6d1b-4a43-9a35-4f1d1f2b7c10",
    "client_secret": "s3cret-value",
    "admin": "https://127.0.0.1:9443/_sandbox",
}


def test_public_clouds():
    public, usgov, china = cloud_named("public"), cloud_named("usgov"), cloud_named("china")
    assert public.authority("t") == "https://login.microsoftonline.com/t"
    assert public.graph_scope == "https://graph.microsoft.com/.default"
    assert usgov.authority_host == "https://login.microsoftonline.us" and usgov.graph_url.startswith("https://graph.microsoft.us")
    assert china.graph_url.startswith("https://microsoftgraph.chinacloudapi.cn") and china.dataverse_suffix == ".crm.dynamics.cn"
    assert public.verify is True
    assert public.business_central_base("t", "Production") == \
        "https://api.businesscentral.dynamics.com/v2.0/t/Production/api/v2.0"
    with pytest.raises(CloudError, match="allowed: china, public, usgov, usgov-dod"):
        cloud_named("mars")
    with pytest.raises(CloudError):
        china.business_central_base("t", "Production")


def test_us_government_clouds_follow_microsofts_tables():
    """GCC High and DoD hosts: Graph's national cloud deployments (https://learn.microsoft.com/graph/deployments:
    login.microsoftonline.us; graph.microsoft.us for L4 / GCC High, dod-graph.microsoft.us for L5 / DoD; GCC uses
    the worldwide endpoints) and Dynamics 365 US Government
    (https://learn.microsoft.com/power-platform/admin/microsoft-dynamics-365-government: GCC High environments are
    *.crm.microsoftdynamics.us, GCC *.crm9.dynamics.com). Business Central is not offered there (the same page lists
    it among the apps without US Government compliance commitments), so there is no BC endpoint."""
    high, dod = cloud_named("usgov"), cloud_named("usgov-dod")
    assert (high.authority_host, high.graph_scope, high.dataverse_suffix) == (
        "https://login.microsoftonline.us", "https://graph.microsoft.us/.default", ".crm.microsoftdynamics.us")
    assert (dod.authority_host, dod.graph_url, dod.graph_scope) == (
        "https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0", "https://dod-graph.microsoft.us/.default")
    assert dod.dataverse_suffix == ".crm.appsplatform.us"
    for cloud in (high, dod, cloud_named("china")):
        assert cloud.bc_api is None and cloud.bc_scope is None
        with pytest.raises(CloudError, match="Business Central has no API endpoint in cloud"):
            cloud.business_central_base("t", "Production")


def test_each_cloud_names_its_azuread_environment():
    """pulumi-azuread's provider `environment`: global (public), usgovernment (L4), dod (L5), china."""
    assert {name: cloud_named(name).azuread_environment for name in ("public", "usgov", "usgov-dod", "china")} == {
        "public": "public", "usgov": "usgovernment", "usgov-dod": "dod", "china": "china"}


def test_sandbox_cloud_from_endpoints(tmp_path):
    (tmp_path / "endpoints.json").write_text(json.dumps(ENDPOINTS))
    cloud = sandbox_cloud(tmp_path)
    assert cloud.authority(cloud.tenant_id) == ENDPOINTS["authority"]
    assert cloud.graph_url == ENDPOINTS["graph"] and cloud.verify == "/tmp/x/ca.pem" and not cloud.public
    assert cloud.business_central_base(cloud.tenant_id, "Production") == ENDPOINTS["business_central"]
    assert cloud.dataverse_scope(cloud.dataverse_url) == "https://127.0.0.1:9443/orgs/contoso/.default"
    assert "s3cret" not in repr(cloud)
    cred = ClientCredential.from_sandbox(cloud)
    assert cred.kind == "secret" and "s3cret" not in repr(cred) and "s3cret" not in str(cred)


def test_missing_sandbox_is_a_clear_error(tmp_path):
    with pytest.raises(CloudError, match="endpoints.json: not found"):
        sandbox_cloud(tmp_path)


def test_credentials_name_the_missing_variable():
    with pytest.raises(CredentialError, match="AZURE_TENANT_ID"):
        ClientCredential.from_env({})
    with pytest.raises(CredentialError, match="AZURE_CLIENT_ID"):
        ClientCredential.from_env({"AZURE_TENANT_ID": "t"})
    with pytest.raises(CredentialError, match="AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"):
        ClientCredential.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"})


def test_secret_credential_never_shows_the_secret():
    cred = ClientCredential.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "hunter2"})
    assert cred.msal_credential() == "hunter2"
    assert "hunter2" not in repr(cred) and "hunter2" not in str(cred) and "hunter2" not in f"{cred}"


def _pem(tmp_path, with_key=True, with_cert=True):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bcsi")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    text = b""
    if with_key:
        text += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    if with_cert:
        text += cert.public_bytes(serialization.Encoding.PEM)
    path = tmp_path / "app.pem"
    path.write_bytes(text)
    return str(path)


def test_certificate_credential(tmp_path):
    path = _pem(tmp_path)
    cred = ClientCredential.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": path})
    value = cred.msal_credential()
    assert value["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert value["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in repr(cred)


def test_certificate_without_key_is_refused(tmp_path):
    path = _pem(tmp_path, with_key=False)
    with pytest.raises(CredentialError, match="holds no private key"):
        ClientCredential.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": path})
    with pytest.raises(CredentialError, match="cannot read"):
        ClientCredential.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
                                   "AZURE_CLIENT_CERTIFICATE_PATH": str(tmp_path / "missing.pem")})


def test_federated_credential_reads_the_file_each_time(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    cred = ClientCredential.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
                                      "AZURE_FEDERATED_TOKEN_FILE": str(token_file)})
    assertion = cred.msal_credential()["client_assertion"]
    assert assertion() == "first"
    token_file.write_text("rotated")
    assert assertion() == "rotated"
    with pytest.raises(CredentialError, match="AZURE_FEDERATED_TOKEN_FILE"):
        ClientCredential.from_env({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
                                   "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "nope")})
