"""Dataverse solution versions ("major.minor.build.revision"), compared as numbers, never as text."""
from __future__ import annotations

import re

_VERSION = re.compile(r"^\d+(\.\d+){1,3}$")


class VersionError(ValueError):
    """A version string that is not Dataverse's dotted numeric form."""


def version_tuple(version: str) -> tuple[int, ...]:
    """'1.10.0.0' -> (1, 10, 0, 0): Dataverse compares versions part by part, numerically."""
    return tuple(int(part) for part in version.strip().split("."))


def parse_version(text: str) -> tuple[int, ...]:
    """'1.2' -> (1, 2, 0, 0): missing parts count as zero, as Dataverse treats them."""
    text = (text or "").strip()
    if not _VERSION.match(text):
        raise VersionError(f"not a solution version: {text!r} (expected e.g. 1.0.0.0)")
    parts = version_tuple(text)
    return parts + (0,) * (4 - len(parts))


def compare_versions(wanted: str, installed: str) -> int:
    """-1 when wanted is lower than installed, 0 when equal, 1 when higher (an upgrade)."""
    a, b = parse_version(wanted), parse_version(installed)
    return (a > b) - (a < b)
