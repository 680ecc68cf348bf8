"""The generate-once values behind the identity: strong passwords and a stable credential window."""
from __future__ import annotations

import string
from datetime import datetime, timezone

import pytest

from provisioning.passwords import (
    CredentialWindowProvider, GeneratedPasswordProvider, generate_password, window_from,
)


def test_passwords_are_long_varied_and_different_every_time():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) == 32
        assert any(c in string.ascii_uppercase for c in password)
        assert any(c in string.ascii_lowercase for c in password)
        assert any(c in string.digits for c in password)
        assert any(not c.isalnum() for c in password)
        assert not any(c in "\"'`$\\ " for c in password)
    with pytest.raises(ValueError):
        generate_password(8)


def test_password_is_made_in_create_and_never_again():
    provider = GeneratedPasswordProvider()
    created = provider.create({"length": 24})
    assert len(created.outs["result"]) == 24
    unchanged = provider.diff(created.id, created.outs, {"length": 24, "result": None})
    assert unchanged.changes is False and unchanged.replaces == []
    assert provider.read(created.id, created.outs).outs["result"] == created.outs["result"]
    longer = provider.diff(created.id, created.outs, {"length": 40, "result": None})
    assert longer.changes is True and longer.replaces == ["length"]


def test_credential_window_is_recorded_once_and_moves_only_with_days():
    assert window_from(datetime(2026, 1, 31, 12, 0, 5, 999, tzinfo=timezone.utc), 30) == {
        "startDate": "2026-01-31T12:00:05Z", "endDate": "2026-03-02T12:00:05Z"}
    provider = CredentialWindowProvider()
    created = provider.create({"days": 90})
    start = datetime.strptime(created.outs["startDate"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - start).total_seconds()) < 60
    assert provider.diff(created.id, created.outs, {"days": 90}).changes is False
    assert provider.diff(created.id, created.outs, {"days": 30}).replaces == ["days"]
