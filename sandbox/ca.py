"""The sandbox's own certificate authority: clients trust DATA/ca.pem, the server presents a cert it signed.

The CA key and cert persist in the data dir so a restarted sandbox keeps the same ca.pem; the server
certificate (SAN 127.0.0.1 and localhost) is reissued by that CA when missing or close to expiry.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """An RSA key kept as PEM at `path` (created 0600 on first use)."""
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def self_signed_cert(key: rsa.RSAPrivateKey, common_name: str, days: int = 3650, ca: bool = False) -> x509.Certificate:
    """A self-signed certificate for `key` (the CA itself, token-signing keys, test app credentials)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        ).add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
    return builder.sign(key, hashes.SHA256())


class CertificateAuthority:
    """DATA/ca-key.pem + DATA/ca.pem, and the server's DATA/server-key.pem + DATA/server.pem."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.ca_file = self.data_dir / "ca.pem"
        self.key = load_or_create_key(self.data_dir / "ca-key.pem")
        if self.ca_file.exists():
            self.cert = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        else:
            self.cert = self_signed_cert(self.key, "bcsi sandbox CA", ca=True)
            self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def server_files(self) -> tuple[Path, Path]:
        """(cert chain, key) for the TLS server; reissued when missing or expiring within a day."""
        cert_file = self.data_dir / "server.pem"
        key_file = self.data_dir / "server-key.pem"
        key = load_or_create_key(key_file)
        if cert_file.exists():
            current = x509.load_pem_x509_certificate(cert_file.read_bytes())
            fresh = current.not_valid_after_utc > _now() + dt.timedelta(days=1)
            if fresh and current.issuer == self.cert.subject:
                return cert_file, key_file
        cert_file.write_bytes(self._issue_server_cert(key).public_bytes(serialization.Encoding.PEM))
        return cert_file, key_file

    def _issue_server_cert(self, key: rsa.RSAPrivateKey) -> x509.Certificate:
        public = key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(self.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5))
            .not_valid_after(_now() + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                              data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.cert.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
