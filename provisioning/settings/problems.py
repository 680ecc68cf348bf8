"""Problem lines: each settings problem becomes one `file: key: what is wrong (allowed: ...)` line.

`Problems` collects them all before anything is raised, so one `bcsi validate` run shows every problem;
`show` and `child` write values and key paths so that a line never breaks or leaks a secret.
"""
from __future__ import annotations

from typing import Any, Sequence


class SettingsError(Exception):
    """Invalid stack settings; `lines` holds one `file: key: problem (allowed: ...)` line per problem."""

    def __init__(self, lines: Sequence[str]):
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


class Problems:
    """The problem lines found so far in one source (a stack file, or the running stack's config)."""

    def __init__(self, source: str):
        self.source = source
        self.lines: list[str] = []

    def add(self, key: str, problem: str, allowed: str) -> None:
        self.add_in(self.source, key, problem, allowed)

    def add_in(self, source: str, key: str, problem: str, allowed: str) -> None:
        """A problem found in another file the settings name (a member file, at a line)."""
        self.lines.append(f"{source}: {key}: {problem} (allowed: {allowed})")


def is_secure(value: Any) -> bool:
    """A `{secure: ...}` value as a stack file holds it: ciphertext, only Pulumi decrypts it."""
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value.get("secure"), str)


def show(value: Any) -> str:
    """How a value appears in an error line: text quoted and shortened, other values named by kind."""
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return "'" + escape(text) + "'"
    if is_secure(value):
        return "a secure value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "an empty value"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def escape(text: str) -> str:
    """Control characters as escapes, so every problem stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def segment(name: Any) -> str:
    """A map key as one segment of a key path."""
    return escape(name) if isinstance(name, str) else escape(str(name))


def child(key: str, name: Any) -> str:
    """The key path of a map entry, as error lines show it: bcsi:roles.Integration User."""
    return f"{key}.{segment(name)}"
