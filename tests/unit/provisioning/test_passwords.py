"""The generate-once values behind the identity: strong passwords and a stable credential window."""
from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone

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


def test_credential_window_renews_when_its_end_comes_within_the_rotation_window():
    provider = CredentialWindowProvider()
    now = datetime.now(timezone.utc)

    def ending_in(days):
        return {"days": 180, "renewWithinDays": 30, **window_from(now - timedelta(days=180 - days), 180)}

    news = {"days": 180, "renewWithinDays": 30}
    assert provider.diff("w", ending_in(45), news).changes is False
    due = provider.diff("w", ending_in(20), news)
    assert due.changes is True and due.replaces == ["endDate"]   # a new window: the secret depending on it rotates
    # a secret living 30 days is rotated in its last 15 (half its life), not on every run
    short = {"days": 30, "renewWithinDays": 30, **window_from(now - timedelta(days=10), 30)}
    assert provider.diff("w", short, {"days": 30, "renewWithinDays": 30}).changes is False
    assert provider.diff("w", short | window_from(now - timedelta(days=20), 30),
                         {"days": 30, "renewWithinDays": 30}).changes is True
