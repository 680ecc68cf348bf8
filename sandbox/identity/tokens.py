"""The sandbox's token-signing key: issues RS256 access tokens and verifies the ones clients send back.

One key per data dir (DATA/token-signing-key.pem), published in the JWKS with a self-signed cert (x5c),
as Entra ID publishes its keys, so third-party JWT libraries can validate sandbox tokens too.
"""
from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization

from sandbox.app import EXPIRED, INVALID_SIGNATURE, MALFORMED_TOKEN, TokenError
from sandbox.ca import load_or_create_key, self_signed_cert


_CACHE_SIZE = 1024
_LEEWAY = 0  # PyJWT's default: none


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64url_uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """The RSA key that signs every access token the sandbox issues."""

    def __init__(self, data_dir: Path | None = None):
        if data_dir is None:
            from cryptography.hazmat.primitives.asymmetric import rsa

            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.key = load_or_create_key(Path(data_dir) / "token-signing-key.pem")
        cert_file = Path(data_dir) / "token-signing-cert.pem" if data_dir else None
        if cert_file is not None and cert_file.exists():
            from cryptography import x509

            self.cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        else:
            self.cert = self_signed_cert(self.key, "accounts.sandbox.local")
            if cert_file is not None:
                cert_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self.kid = b64url(hashlib.sha1(der).digest())  # Entra uses the x5t as kid
        self._der = der
        self.public_key = self.key.public_key()
        self._verified: dict[str, dict] = {}

    def issue(self, claims: dict) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid, "typ": "JWT"})

    def verify(self, token: str) -> dict:
        """Claims of a token this key signed, with exp/nbf checked; raises TokenError otherwise.

        A token's signature is checked once and remembered (clients send the same token thousands of
        times); exp/nbf are checked on every call.
        """
        cached = self._verified.get(token)
        if cached is not None:
            now = time.time()
            if cached["exp"] <= now - _LEEWAY or cached["nbf"] > now + _LEEWAY:
                raise TokenError(EXPIRED)
            return dict(cached)
        claims = self._verify_signature(token)
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return dict(claims)

    def _verify_signature(self, token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError(MALFORMED_TOKEN) from None
        if header.get("alg") != "RS256":
            raise TokenError(INVALID_SIGNATURE)
        try:
            return jwt.decode(token, self.public_key, algorithms=["RS256"],
                              options={"verify_aud": False, "require": ["exp", "nbf", "iat"]})
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise TokenError(EXPIRED) from None
        except jwt.InvalidSignatureError:
            raise TokenError(INVALID_SIGNATURE) from None
        except jwt.PyJWTError:
            raise TokenError(MALFORMED_TOKEN) from None

    def jwk(self, issuer: str) -> dict:
        numbers = self.public_key.public_numbers()
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "n": _b64url_uint(numbers.n),
                "e": _b64url_uint(numbers.e), "x5c": [base64.b64encode(self._der).decode()], "issuer": issuer}
