"""Who the toolkit signs in as: a client secret, a certificate, or a federated token file, read from the
AZURE_* environment variables (README.md, *Pointing a stack at a real tenant*).

The credential object is safe to print: its repr names the tenant, client and kind, never the secret.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping


class CredentialError(Exception):
    """The credential is missing, unreadable or was refused; the text names what to fix, never the secret."""


class AuthError(CredentialError):
    """Entra ID refused the token request; carries the OAuth error and the AADSTS code."""

    def __init__(self, message: str, error: str | None = None, aadsts: str | None = None):
        super().__init__(message)
        self.error = error
        self.aadsts = aadsts


KINDS = ("secret", "certificate", "federated")


@dataclass(frozen=True, repr=False)
class ClientCredential:
    tenant_id: str
    client_id: str
    kind: str                                   # secret | certificate | federated
    secret: str | None = field(default=None, compare=False)
    certificate_path: str | None = None
    token_file: str | None = None

    def __repr__(self) -> str:
        return f"ClientCredential(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, kind={self.kind!r})"

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ClientCredential":
        """AZURE_TENANT_ID, AZURE_CLIENT_ID and one of AZURE_CLIENT_SECRET / _CERTIFICATE_PATH / AZURE_FEDERATED_TOKEN_FILE."""
        env = os.environ if env is None else env
        for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID"):
            if not env.get(name, "").strip():
                raise CredentialError(f"{name} is not set (the Entra tenant and app the toolkit signs in as)")
        tenant, client = env["AZURE_TENANT_ID"].strip(), env["AZURE_CLIENT_ID"].strip()
        if env.get("AZURE_CLIENT_SECRET"):
            return cls(tenant, client, "secret", secret=env["AZURE_CLIENT_SECRET"])
        if env.get("AZURE_CLIENT_CERTIFICATE_PATH", "").strip():
            path = env["AZURE_CLIENT_CERTIFICATE_PATH"].strip()
            load_pem_certificate(path)  # fail now, clearly, not at the first token request
            return cls(tenant, client, "certificate", certificate_path=path)
        if env.get("AZURE_FEDERATED_TOKEN_FILE", "").strip():
            path = env["AZURE_FEDERATED_TOKEN_FILE"].strip()
            if not Path(path).is_file():
                raise CredentialError(f"AZURE_FEDERATED_TOKEN_FILE: {path} does not exist")
            return cls(tenant, client, "federated", token_file=path)
        raise CredentialError(
            "no client credential: set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"
        )

    @classmethod
    def from_sandbox(cls, cloud) -> "ClientCredential":
        """The seeded admin app of a running sandbox (endpoints.json client_id / client_secret)."""
        if not cloud.sandbox_client or not cloud.tenant_id:
            raise CredentialError("the sandbox endpoints.json names no admin client_id/client_secret")
        client_id, secret = cloud.sandbox_client
        return cls(cloud.tenant_id, client_id, "secret", secret=secret)

    def msal_credential(self):
        """What msal.ConfidentialClientApplication takes as client_credential."""
        if self.kind == "secret":
            return self.secret
        if self.kind == "certificate":
            key_pem, cert_pem = load_pem_certificate(self.certificate_path)
            # msal >= 1.35 derives the SHA-256 thumbprint (PS256, x5t#S256) from public_certificate
            return {"private_key": key_pem, "public_certificate": cert_pem}
        if self.kind == "federated":
            token_file = self.token_file
            return {"client_assertion": lambda: _read_token_file(token_file)}
        raise CredentialError(f"unknown credential kind {self.kind!r} (allowed: {', '.join(KINDS)})")


def _read_token_file(path: str) -> str:
    """Read on every token request: pipelines rotate the federated token file."""
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise CredentialError(f"AZURE_FEDERATED_TOKEN_FILE: cannot read {path} ({exc.strerror})") from None
    if not token:
        raise CredentialError(f"AZURE_FEDERATED_TOKEN_FILE: {path} is empty")
    return token


def load_pem_certificate(path: str) -> tuple[str, str]:
    """(private key PEM, certificate PEM) from one PEM file holding both, checked to parse."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CredentialError(f"AZURE_CLIENT_CERTIFICATE_PATH: cannot read {path} ({exc.strerror})") from None
    key_pem = _pem_block(text, "PRIVATE KEY")
    cert_pem = _pem_block(text, "CERTIFICATE")
    if not key_pem or not cert_pem:
        missing = "private key" if not key_pem else "certificate"
        raise CredentialError(f"AZURE_CLIENT_CERTIFICATE_PATH: {path} holds no {missing} (need a PEM with both)")
    try:
        serialization.load_pem_private_key(key_pem.encode(), password=None)
        x509.load_pem_x509_certificate(cert_pem.encode())
    except (ValueError, TypeError) as exc:
        reason = "encrypted key (not supported)" if "encrypted" in str(exc).lower() or isinstance(exc, TypeError) else "unreadable PEM"
        raise CredentialError(f"AZURE_CLIENT_CERTIFICATE_PATH: {path}: {reason}") from None
    return key_pem, cert_pem


def _pem_block(text: str, label_suffix: str) -> str | None:
    """The first PEM block whose label ends with label_suffix (PRIVATE KEY matches RSA/EC/plain)."""
    lines, inside, label = [], False, None
    for line in text.splitlines():
        stripped = line.strip()
        if not inside and stripped.startswith("-----BEGIN ") and stripped.endswith("-----"):
            label = stripped[len("-----BEGIN "):-5]
            if label.endswith(label_suffix):
                inside, lines = True, [stripped]
            continue
        if inside:
            lines.append(stripped)
            if stripped == f"-----END {label}-----":
                return "\n".join(lines) + "\n"
    return None
