"""When an app credential ends, and whether that is soon: the one rule `bcsi check` (warn) and `bcsi plan`
(rotation grant) share, so both commands flag the same credentials for the same `--credential-window-days`."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_CREDENTIAL_WINDOW_DAYS = 30
NONE, NO_END, EXPIRED, EXPIRING, VALID = "none", "no-end", "expired", "expiring", "valid"


@dataclass(frozen=True)
class Expiry:
    """`state` of a set of credentials; `end` is the latest valid end (expiring, valid) or the last end (expired)."""

    state: str
    end: dt.datetime | None = None

    @property
    def date(self) -> str:
        return self.end.date().isoformat() if self.end else ""


def credential_end(credential: dict) -> dt.datetime | None:
    """A Graph password/key credential's endDateTime in UTC; None when it has none (or none that parses)."""
    text = credential.get("endDateTime")
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def credential_expiry(credentials, now: dt.datetime, window_days: int = DEFAULT_CREDENTIAL_WINDOW_DAYS) -> Expiry:
    """The state of the last credential standing: none at all, one without end, all expired, or the latest valid
    one ending within `window_days` (expiring) or later (valid)."""
    ends = [credential_end(c) for c in credentials]
    if not ends:
        return Expiry(NONE)
    if any(end is None for end in ends):
        return Expiry(NO_END)
    valid = [end for end in ends if end > now]
    if not valid:
        return Expiry(EXPIRED, max(ends))
    latest = max(valid)
    return Expiry(EXPIRING if latest <= now + dt.timedelta(days=window_days) else VALID, latest)


def renewal_window_days(lifetime_days: float, window_days: float = DEFAULT_CREDENTIAL_WINDOW_DAYS) -> float:
    """How close to its end the stack rotates a secret of `lifetime_days`: the window, but at most half its life
    (a 30-day secret with a 30-day window would otherwise be rotated on every run)."""
    return min(window_days, lifetime_days / 2)


def rotation_due(end: dt.datetime, lifetime_days: float, now: dt.datetime,
                 window_days: float = DEFAULT_CREDENTIAL_WINDOW_DAYS) -> bool:
    """Whether a stack secret ending at `end` is due for rotation: `pulumi up` (CredentialWindow) and `bcsi plan`
    ask this same question, so the plan shows exactly the rotations an `up` makes."""
    return end - now <= dt.timedelta(days=renewal_window_days(lifetime_days, window_days))
