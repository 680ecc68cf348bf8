"""Which Dataverse role a `bcsi:roles` name stands for, decided in one place.

Stacks say "Product Availability User"; the solution Business Central deploys calls it "Dynamics 365 Business
Central Product Availability User", and names may be renamed or translated. So a role is found by BC's fixed id
where BC has one, else by the id the imported package declares for it (customizations.xml `<Role id=… name=…>`),
and only then by its known names (mscloud/wellknown.py). RoleAssignment, `bcsi plan`, `bcsi check` and the policy
pack all go through `role_lookup`; no HTTP here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from mscloud.wellknown import INTEGRATION_ROLE_NAMES, fixed_role_id


def _guid(value) -> str | None:
    return str(value).strip().strip("{}").lower() if value else None


@dataclass(frozen=True)
class RoleLookup:
    """How to find one configured role: its ids first (in order), then its names (case-insensitive)."""

    name: str                  # the configured name; an integration role's short name
    ids: tuple[str, ...]
    names: tuple[str, ...]

    def describe(self) -> str:
        """'by id X, or by name 'A' or 'B'': what was tried, for messages."""
        names = "by name " + " or ".join(f"'{n}'" for n in self.names)
        return f"by id {' or '.join(self.ids)}, or {names}" if self.ids else names


def short_name(name: str) -> str:
    """The short name of an integration role given by any of its names; any other name unchanged."""
    wanted = str(name or "").strip().casefold()
    for short, names in INTEGRATION_ROLE_NAMES.items():
        if wanted in {n.casefold() for n in names}:
            return short
    return str(name or "").strip()


def role_lookup(name: str, declared: Mapping[str, str] | None = None, role_id: str | None = None) -> RoleLookup:
    """The ids and names that identify role `name`: BC's fixed id, `role_id` (an id chosen already), the id the
    package declares (`declared`: package role name -> id) under one of the role's names, then the names."""
    short = short_name(name)
    names = INTEGRATION_ROLE_NAMES.get(short, (short,))
    folded = {n.casefold() for n in names}
    ids = [fixed_role_id(short), _guid(role_id)]
    ids += [_guid(i) for n, i in (declared or {}).items() if n.strip().casefold() in folded]
    return RoleLookup(short, tuple(dict.fromkeys(i for i in ids if i)), tuple(names))


def package_role_ids(roles: Iterable) -> dict[str, str]:
    """{name: id} of a package's declared roles (solution_import.package.RoleDeclaration)."""
    return {role.name: role.role_id for role in roles}


def is_root_role(row: dict) -> bool:
    """A role of the root business unit: its parent root role is itself (or not given)."""
    parent = _guid(row.get("_parentrootroleid_value"))
    return parent is None or parent == _guid(row.get("roleid"))


def pick_root_role(rows: Iterable[dict], lookup: RoleLookup) -> tuple[dict | None, str]:
    """(the root-business-unit role `lookup` finds among `rows`, how it was found); (None, what was tried)."""
    roots = [row for row in rows if is_root_role(row)]
    for role_id in lookup.ids:
        for row in roots:
            if _guid(row.get("roleid")) == role_id:
                return row, f"by id {role_id}"
    for name in lookup.names:
        for row in roots:
            if str(row.get("name", "")).strip().casefold() == name.casefold():
                return row, f"by name '{row.get('name')}'"
    return None, lookup.describe()


def declared_role_ids(package_path) -> dict[str, str]:
    """{name: id} of the roles the stack's solution package declares; {} without a readable package (the
    lookup then goes by fixed ids and names)."""
    from solution_import.package import PackageError, read_package

    if not package_path:
        return {}
    try:
        return package_role_ids(read_package(package_path).roles)
    except PackageError:
        return {}
