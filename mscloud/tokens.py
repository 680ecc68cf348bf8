"""Access tokens: one msal ConfidentialClientApplication per credential, a token per audience.

msal keeps its in-memory cache; on top, a small per-scope memo avoids asking msal (and, for
short-lived tokens, the token endpoint) before every single request. `invalidate` drops both
when a service answers 401 to a token we believed valid.
"""
from __future__ import annotations

import threading
import time

import msal

from mscloud.credentials import AuthError, ClientCredential, CredentialError

_MSAL_EXPIRY_MARGIN = 300  # msal treats a cached token as expired 5 minutes early


def aadsts_code(description: str | None, codes=None) -> str | None:
    """`AADSTS7000215` from an error_description, or from error_codes."""
    if description and description.startswith("AADSTS"):
        head = description.split(":", 1)[0].strip()
        if head[6:].isdigit():
            return head
    if codes:
        return f"AADSTS{codes[0]}"
    return None


def auth_error_from(result: dict, client_id: str, scope: str) -> AuthError:
    """One clear line from msal's error dict: the OAuth error, AADSTS code and the first line of the description."""
    error = result.get("error") or "token_error"
    description = (result.get("error_description") or "").replace("\r\n", "\n").split("\n", 1)[0].strip()
    code = aadsts_code(description, result.get("error_codes"))
    text = description if description else error
    if code and not text.startswith(code):
        text = f"{code}: {text}"
    return AuthError(f"sign-in as app {client_id} for {scope} refused: {error}: {text}", error=error, aadsts=code)


class MsalHttpClient:
    """What msal calls for HTTP: the core's session with `verify=` on every request (REQUESTS_CA_BUNDLE overrides Session.verify)."""

    def __init__(self, session, verify, timeout, on_send):
        self._session, self._verify, self._timeout, self._on_send = session, verify, timeout, on_send

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        self._on_send()
        return self._session.post(url, params=params, data=data, headers=headers, verify=self._verify,
                                  timeout=kwargs.pop("timeout", self._timeout), **kwargs)

    def get(self, url, params=None, headers=None, **kwargs):
        self._on_send()
        return self._session.get(url, params=params, headers=headers, verify=self._verify,
                                 timeout=kwargs.pop("timeout", self._timeout), **kwargs)

    def close(self):  # msal may call it; the core owns the session
        pass


class TokenProvider:
    """Bearer tokens for scopes like `https://graph.microsoft.com/.default`, fetched once and reused."""

    def __init__(self, credential: ClientCredential, authority: str, http_client, public_authority: bool = True,
                 clock=time.time):
        self.credential = credential
        self._clock = clock
        self._lock = threading.Lock()
        self._memo: dict[str, tuple[str, float]] = {}
        self.tokens_fetched = 0
        try:
            self._app = msal.ConfidentialClientApplication(
                credential.client_id,
                client_credential=credential.msal_credential(),
                authority=authority,
                http_client=http_client,
                instance_discovery=True if public_authority else False,
            )
        except ValueError as exc:  # bad authority URL or credential shape; no secret in msal's text
            raise CredentialError(f"cannot use authority {authority}: {exc}") from None

    def token(self, scope: str) -> str:
        with self._lock:
            memo = self._memo.get(scope)
            if memo and self._clock() < memo[1]:
                return memo[0]
            try:
                result = self._app.acquire_token_for_client(scopes=[scope])
            except CredentialError:
                raise
            except Exception as exc:  # msal raises on 5xx/transport; keep the message, drop nothing secret
                raise AuthError(f"token request for {scope} failed: {type(exc).__name__}: {exc}") from None
            if "access_token" not in result:
                raise auth_error_from(result, self.credential.client_id, scope)
            if result.get("token_source") != "cache":
                self.tokens_fetched += 1
            lifetime = float(result.get("expires_in") or 0)
            margin = min(_MSAL_EXPIRY_MARGIN, lifetime / 4)
            self._memo[scope] = (result["access_token"], self._clock() + lifetime - margin)
            return result["access_token"]

    def invalidate(self, scope: str) -> None:
        """Forget the token for scope (a service said it expired): the next call fetches a new one."""
        with self._lock:
            self._memo.pop(scope, None)
            cache = self._app.token_cache
            for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, target=[scope])):
                cache.remove_at(entry)
