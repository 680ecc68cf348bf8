"""Reads a Dataverse solution zip: unique name, version, declared roles, missing dependencies and its sha256.

Declaring a resource reads the package so that `pulumi preview` already shows a version change; the sandbox's
ImportSolution(Async) parses with the same function (sandbox/dataverse/solution_imports.py) and answers a
PackageError with Dataverse's error code for its `kind`. A solution zip holds solution.xml, customizations.xml
and [Content_Types].xml ("Customization XML reference",
https://learn.microsoft.com/power-apps/developer/model-driven-apps/customization-xml-reference).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from pulumi import RunError

from solution_import.versions import version_tuple

REQUIRED_PARTS = ("[Content_Types].xml", "solution.xml", "customizations.xml")
BAD_ZIP_MESSAGE = (
    "The solution file is invalid. The compressed file must contain the following files at its root: "
    "solution.xml, customizations.xml, and [Content_Types].xml. Customization files exported from "
    "previous versions of Microsoft Dynamics 365 are not supported."
)
INVALID_XML_MESSAGE = (
    "This solution package cannot be imported because it contains invalid XML. You can attempt to repair "
    "the file by manually editing the XML contents using the information found in the schema validation "
    "errors, or you can contact your solution provider."
)


class PackageError(RunError):
    """A missing, unreadable or malformed solution package; the message is one line for the user.

    A RunError, so a Pulumi program that declares the resource stops with this line and no traceback.
    `kind` says what Dataverse would refuse: BAD_ZIP (not a zip, or a required part missing), INVALID_XML
    (malformed or incomplete manifest), or None (not a format problem: missing file, unreadable, corrupt)."""

    BAD_ZIP = "bad-zip"
    INVALID_XML = "invalid-xml"

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class RoleDeclaration:
    role_id: str          # lower-case guid without braces: the fixed roleid in the root business unit
    name: str


@dataclass(frozen=True)
class MissingDependency:
    """A `<MissingDependency>`: the component the package needs and the solution that should bring it."""
    schema_name: str
    display_name: str
    component_type: str
    solution: str          # "UniqueName (version)" as solution.xml writes it
    dependent: str         # schema name of the package's component that needs it

    @property
    def solution_unique_name(self) -> str:
        return self.solution.split(" (")[0].strip()


@dataclass(frozen=True)
class SolutionPackage:
    unique_name: str
    version: str
    friendly_name: str
    managed: bool
    publisher: str
    roles: tuple[RoleDeclaration, ...] = field(default_factory=tuple)
    missing_dependencies: tuple[MissingDependency, ...] = field(default_factory=tuple)
    sha256: str = ""
    path: str = ""         # set by read_package: the zip's absolute path


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(name))
    except ElementTree.ParseError:
        raise PackageError(INVALID_XML_MESSAGE, PackageError.INVALID_XML) from None


def _text(element: ElementTree.Element | None, path: str, default: str = "") -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None and found.text else default


def parse(data: bytes) -> SolutionPackage:
    """Read a solution zip from bytes; raise PackageError (with its `kind`) for what Dataverse would refuse."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise PackageError(BAD_ZIP_MESSAGE, PackageError.BAD_ZIP) from None
    with archive:
        names = set(archive.namelist())
        if not all(part in names for part in REQUIRED_PARTS):
            raise PackageError(BAD_ZIP_MESSAGE, PackageError.BAD_ZIP)
        solution = _xml(archive, "solution.xml")
        customizations = _xml(archive, "customizations.xml")
    manifest = solution.find("SolutionManifest")
    unique_name = _text(manifest, "UniqueName")
    version = _text(manifest, "Version")
    try:
        version_tuple(version)
    except ValueError:
        version = ""
    if solution.tag != "ImportExportXml" or manifest is None or not unique_name or not version:
        raise PackageError(INVALID_XML_MESSAGE, PackageError.INVALID_XML)
    friendly = manifest.find("LocalizedNames/LocalizedName")
    roles = tuple(
        RoleDeclaration(role_id=(role.get("id") or "").strip("{}").lower(), name=role.get("name") or "")
        for role in customizations.findall("Roles/Role")
    )
    if any(not role.role_id or not role.name for role in roles):
        raise PackageError(INVALID_XML_MESSAGE, PackageError.INVALID_XML)
    missing = tuple(
        MissingDependency(
            schema_name=(dep.find("Required").get("schemaName") or ""),
            display_name=(dep.find("Required").get("displayName") or ""),
            component_type=(dep.find("Required").get("type") or ""),
            solution=(dep.find("Required").get("solution") or ""),
            dependent=(dep.find("Dependent").get("schemaName") or "") if dep.find("Dependent") is not None else "",
        )
        for dep in manifest.findall("MissingDependencies/MissingDependency")
        if dep.find("Required") is not None
    )
    return SolutionPackage(
        unique_name=unique_name,
        version=version,
        friendly_name=(friendly.get("description") if friendly is not None else None) or unique_name,
        managed=_text(manifest, "Managed", "0") == "1",
        publisher=_text(manifest, "Publisher/UniqueName"),
        roles=roles,
        missing_dependencies=missing,
        sha256=hashlib.sha256(data).hexdigest(),
    )


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
        return _parse_once(data, str(path.resolve()))
    except PackageError as exc:
        raise PackageError(f"solution package {path} is not a valid Dataverse solution: {exc.message}",
                           exc.kind) from None
    except Exception as exc:  # a corrupt member (CRC, truncated deflate stream) surfaces here
        raise PackageError(f"solution package {path} is corrupt: {type(exc).__name__}: {exc}") from None


@functools.lru_cache(maxsize=4)
def _parse_once(data: bytes, path: str) -> SolutionPackage:
    """parse() once per content and file: one program run asks for the same package three times (the program's own
    check, the roles' declared ids, the solution resource), and unzipping, parsing and hashing it is the costly part."""
    return dataclasses.replace(parse(data), path=path)
