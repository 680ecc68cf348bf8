"""Reads a Dataverse solution zip at program time: unique name, version, declared roles and its sha256.

Declaring a resource reads the package so that `pulumi preview` already shows a version change. The
parsing itself is the sandbox's (`sandbox.dataverse.solution_package.parse`, the same rules Dataverse
applies); this module adds the file handling and user-facing one-line errors.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pulumi import RunError

from sandbox.dataverse import solution_package


class PackageError(RunError):
    """A missing, unreadable or malformed solution package; the message is one line for the user.

    A RunError, so a Pulumi program that declares the resource stops with this line and no traceback."""


@dataclass(frozen=True)
class SolutionPackage:
    path: str
    unique_name: str
    version: str
    sha256: str
    managed: bool
    roles: tuple  # of solution_package.RoleDeclaration(role_id, name)


def read_package(path: str | Path) -> SolutionPackage:
    """The facts a resource needs from a solution zip; PackageError names the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"solution package not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackageError(f"solution package {path} cannot be read: {exc.strerror}") from None
    try:
        parsed = solution_package.parse(data)
    except solution_package.PackageError as exc:
        raise PackageError(f"solution package {path} is not a valid Dataverse solution: {exc.message}") from None
    except Exception as exc:  # a corrupt member (CRC, truncated deflate stream) surfaces here
        raise PackageError(f"solution package {path} is corrupt: {type(exc).__name__}: {exc}") from None
    return SolutionPackage(
        path=str(path.resolve()),
        unique_name=parsed.unique_name,
        version=parsed.version,
        sha256=hashlib.sha256(data).hexdigest(),
        managed=parsed.managed,
        roles=parsed.roles,
    )
