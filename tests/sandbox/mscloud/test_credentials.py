"""Certificate and federated (workload identity) credentials from AZURE_* variables, signed in through msal."""
import datetime
import json
import time
import uuid

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mscloud import connect
from mscloud.cloud import sandbox_cloud
from mscloud.credentials import AuthError, ClientCredential

pytestmark = pytest.mark.sandbox

INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"   # seeded, no admin rights needed to get a token
ISSUER = "https://token.actions.githubusercontent.com"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate_pem(key) -> tuple[str, str]:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bcsi pipeline")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def _add_credential(sandbox, body):
    response = sandbox.session().post(f"/_sandbox/apps/{INTEGRATION_APP}/credentials", json=body)
    assert response.status_code == 201, response.text


def test_certificate_credential_gets_a_token(sandbox, tmp_path):
    key_pem, cert_pem = _certificate_pem(_key())
    _add_credential(sandbox, {"keyCredential": {"certificate": cert_pem}})
    pem_file = tmp_path / "app.pem"
    pem_file.write_text(key_pem + cert_pem)
    cloud = sandbox_cloud(sandbox.data_dir)
    cred = ClientCredential.from_env({"AZURE_TENANT_ID": cloud.tenant_id, "AZURE_CLIENT_ID": INTEGRATION_APP,
                                      "AZURE_CLIENT_CERTIFICATE_PATH": str(pem_file)})
    token = connect(cloud, cred).tokens.token(cloud.graph_scope)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["appid"] == INTEGRATION_APP and claims["tid"] == cloud.tenant_id


def test_unregistered_certificate_is_refused_with_aadsts(sandbox, tmp_path):
    key_pem, cert_pem = _certificate_pem(_key())
    pem_file = tmp_path / "other.pem"
    pem_file.write_text(key_pem + cert_pem)
    cloud = sandbox_cloud(sandbox.data_dir)
    cred = ClientCredential.from_env({"AZURE_TENANT_ID": cloud.tenant_id, "AZURE_CLIENT_ID": INTEGRATION_APP,
                                      "AZURE_CLIENT_CERTIFICATE_PATH": str(pem_file)})
    with pytest.raises(AuthError) as caught:
        connect(cloud, cred).tokens.token(cloud.graph_scope)
    assert caught.value.aadsts and caught.value.aadsts.startswith("AADSTS") and "PRIVATE" not in str(caught.value)


def test_federated_token_file_gets_a_token(sandbox, tmp_path):
    key = _key()
    kid = uuid.uuid4().hex
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    response = sandbox.session().post("/_sandbox/federated-issuers",
                                      json={"issuer": ISSUER, "jwks": {"keys": [{**jwk, "kid": kid, "use": "sig"}]}})
    assert response.status_code == 204, response.text
    subject = f"repo:contoso/bcsi:environment:{kid}"
    _add_credential(sandbox, {"federatedIdentityCredential": {"name": f"pipeline-{kid}", "issuer": ISSUER,
                                                              "subject": subject}})
    now = int(time.time())
    assertion = jwt.encode({"iss": ISSUER, "sub": subject, "aud": "api://AzureADTokenExchange", "iat": now,
                            "nbf": now, "exp": now + 600, "jti": kid}, key, algorithm="RS256", headers={"kid": kid})
    token_file = tmp_path / "federated-token"
    token_file.write_text(assertion)
    cloud = sandbox_cloud(sandbox.data_dir)
    cred = ClientCredential.from_env({"AZURE_TENANT_ID": cloud.tenant_id, "AZURE_CLIENT_ID": INTEGRATION_APP,
                                      "AZURE_FEDERATED_TOKEN_FILE": str(token_file)})
    assert "eyJ" not in repr(cred)
    token = connect(cloud, cred).tokens.token(cloud.graph_scope)
    assert jwt.decode(token, options={"verify_signature": False})["appid"] == INTEGRATION_APP
