"""Values generated once and then kept in state: a strong password and a credential's validity window.

The random provider plugin cannot be installed here, and a value computed in the program (a fresh
password, `now + days`) would change on every run and replace the user's password or the app's secret.
These small dynamic resources compute the value in `create` only; `diff` never asks to recompute it
unless its own inputs change. The password leaves the provider only as a Pulumi secret.
"""
from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta, timezone

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

from provisioning.credentials import DEFAULT_CREDENTIAL_WINDOW_DAYS, credential_end, rotation_due

# Entra ID accepts 8-256 characters from at least three of: upper, lower, digits, symbols. These
# symbols are all in its allowed set and need no quoting in shells or YAML.
_SYMBOLS = "-_!@#%^*+=?.:"
_CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits, _SYMBOLS)
MIN_LENGTH, MAX_LENGTH, DEFAULT_LENGTH = 16, 256, 32


def generate_password(length: int = DEFAULT_LENGTH) -> str:
    """A password from `secrets`, holding every character class (so any tenant's complexity rule passes)."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"password length must be {MIN_LENGTH}..{MAX_LENGTH}")
    alphabet = "".join(_CLASSES)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(c in chars for c in candidate) for chars in _CLASSES):
            return candidate


def _replace_when_changed(olds: dict, news: dict, keys: tuple[str, ...]) -> DiffResult:
    changed = [key for key in keys if olds.get(key) != news.get(key)]
    return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)


class GeneratedPasswordProvider(ResourceProvider):
    """Generates the password in create; keeps it for the life of the resource."""

    def create(self, props):
        length = int(props.get("length") or DEFAULT_LENGTH)
        return CreateResult(id_=secrets.token_hex(8), outs={"length": length, "result": generate_password(length)})

    def diff(self, _id, olds, news):
        return _replace_when_changed(olds, news, ("length",))

    def read(self, id_, props):
        return ReadResult(id_=id_, outs=props)


class GeneratedPassword(Resource, module="bcsi", name="GeneratedPassword"):
    """A strong password made once; `result` is a Pulumi secret and never regenerates on re-runs."""

    result: pulumi.Output[str]
    length: pulumi.Output[int]

    def __init__(self, resource_name: str, length: int = DEFAULT_LENGTH, opts: pulumi.ResourceOptions | None = None):
        if not MIN_LENGTH <= length <= MAX_LENGTH:
            raise ValueError(f"password length must be {MIN_LENGTH}..{MAX_LENGTH}")
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["result"])
        super().__init__(GeneratedPasswordProvider(), resource_name, {"length": length, "result": None},
                         pulumi.ResourceOptions.merge(opts, secret_opts))


def window_from(start: datetime, days: int) -> dict:
    """RFC 3339 start and end dates (UTC, whole seconds) of a credential valid for `days`."""
    start = start.astimezone(timezone.utc).replace(microsecond=0)
    end = start + timedelta(days=days)
    return {"startDate": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "endDate": end.strftime("%Y-%m-%dT%H:%M:%SZ")}


class CredentialWindowProvider(ResourceProvider):
    """Records the start once; the end date is start + days. It moves when `days` changes, or when the end comes
    within `renewWithinDays` (at most half the lifetime): the replacement rotates the secret that depends on it."""

    def create(self, props):
        days = int(props["days"])
        renew = int(props.get("renewWithinDays") or DEFAULT_CREDENTIAL_WINDOW_DAYS)
        return CreateResult(id_=secrets.token_hex(8), outs={
            "days": days, "renewWithinDays": renew, **window_from(datetime.now(timezone.utc), days)})

    def diff(self, _id, olds, news):
        changed = _replace_when_changed(olds, news, ("days",))
        if changed.changes:
            return changed
        end = credential_end({"endDateTime": olds.get("endDate")})
        renew = int(news.get("renewWithinDays") or DEFAULT_CREDENTIAL_WINDOW_DAYS)
        if end is not None and rotation_due(end, int(olds["days"]), datetime.now(timezone.utc), renew):
            return DiffResult(changes=True, replaces=["endDate"], delete_before_replace=False)
        return DiffResult(changes=False)

    def read(self, id_, props):
        return ReadResult(id_=id_, outs=props)


class CredentialWindow(Resource, module="bcsi", name="CredentialWindow"):
    """A stable validity window for a client secret: `end_date` = the first run's time + `days`, renewed (so the
    secret is rotated) once the end is within `renew_within_days` (at most half of `days`)."""

    days: pulumi.Output[int]
    startDate: pulumi.Output[str]
    endDate: pulumi.Output[str]

    def __init__(self, resource_name: str, days: pulumi.Input[int],
                 renew_within_days: int = DEFAULT_CREDENTIAL_WINDOW_DAYS, opts: pulumi.ResourceOptions | None = None):
        super().__init__(CredentialWindowProvider(), resource_name,
                         {"days": days, "renewWithinDays": renew_within_days, "startDate": None, "endDate": None}, opts)
