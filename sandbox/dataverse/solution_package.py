"""Dataverse solution packages (zip): read what an import needs, and build the sample packages.

Parsing is shared by the sandbox's ImportSolution(Async) and by anyone who needs the unique name and
version of a package before importing it. Errors carry Dataverse's own codes and messages.

    python -m sandbox.dataverse.solution_package build solutions/
rebuilds every `solutions/src/<package>/` folder into `solutions/<package>.zip`, byte-for-byte
reproducible (fixed timestamps, sorted entries).
"""
from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

REQUIRED_PARTS = ("[Content_Types].xml", "solution.xml", "customizations.xml")

# ImportCustomizationsBadZipFileError (-2147188640)
BAD_ZIP_CODE = "0x80048060"
BAD_ZIP_MESSAGE = (
    "The solution file is invalid. The compressed file must contain the following files at its root: "
    "solution.xml, customizations.xml, and [Content_Types].xml. Customization files exported from "
    "previous versions of Microsoft Dynamics 365 are not supported."
)
# ImportInvalidXmlError (-2147188692)
INVALID_XML_CODE = "0x8004802c"
INVALID_XML_MESSAGE = (
    "This solution package cannot be imported because it contains invalid XML. You can attempt to repair "
    "the file by manually editing the XML contents using the information found in the schema validation "
    "errors, or you can contact your solution provider."
)


class PackageError(Exception):
    """A package Dataverse would refuse before importing anything."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


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


def version_tuple(version: str) -> tuple[int, ...]:
    """'1.10.0.0' -> (1, 10, 0, 0): Dataverse compares versions part by part, numerically."""
    return tuple(int(part) for part in version.strip().split("."))


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(name))
    except ElementTree.ParseError:
        raise PackageError(INVALID_XML_CODE, INVALID_XML_MESSAGE) from None


def _text(element: ElementTree.Element | None, path: str, default: str = "") -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None and found.text else default


def parse(data: bytes) -> SolutionPackage:
    """Read a solution zip; raise PackageError with Dataverse's error for what it would refuse."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise PackageError(BAD_ZIP_CODE, BAD_ZIP_MESSAGE) from None
    with archive:
        names = set(archive.namelist())
        if not all(part in names for part in REQUIRED_PARTS):
            raise PackageError(BAD_ZIP_CODE, BAD_ZIP_MESSAGE)
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
        raise PackageError(INVALID_XML_CODE, INVALID_XML_MESSAGE)
    friendly = manifest.find("LocalizedNames/LocalizedName")
    roles = tuple(
        RoleDeclaration(role_id=(role.get("id") or "").strip("{}").lower(), name=role.get("name") or "")
        for role in customizations.findall("Roles/Role")
    )
    if any(not role.role_id or not role.name for role in roles):
        raise PackageError(INVALID_XML_CODE, INVALID_XML_MESSAGE)
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
    )


_FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def build_package(source: Path) -> bytes:
    """Zip one package folder reproducibly (sorted entries, fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def build_all(solutions_dir: Path) -> list[Path]:
    """Rebuild `<dir>/<name>.zip` from every `<dir>/src/<name>/`; check each parses."""
    written = []
    for source in sorted(p for p in (solutions_dir / "src").iterdir() if p.is_dir()):
        data = build_package(source)
        parse(data)
        target = solutions_dir / f"{source.name}.zip"
        target.write_bytes(data)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "build":
        print("usage: python -m sandbox.dataverse.solution_package build SOLUTIONS_DIR", file=sys.stderr)
        return 2
    try:
        for path in build_all(Path(argv[1])):
            print(path)
    except (OSError, PackageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
