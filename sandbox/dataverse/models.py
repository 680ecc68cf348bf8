"""Dataverse state and rules (no HTTP): orgs, business units, users, roles, teams, solutions (imports:
solution_imports.py).

Records live in the shared store as kind `dv:<org>:<entityset>`, in their Web API shape (lookups as
`_x_value`); fields starting with `__` are the sandbox's own bookkeeping and never leave it.
N:N links live in their intersect kinds (metadata.RELATIONSHIPS): `dv:<org>:systemuserroles` with id
`<systemuserid>:<roleid>`, `teammembership` (`<systemuserid>:<teamid>`), `teamroles` (`<teamid>:<roleid>`).

Security, kept simple on purpose (documented in sandbox/dataverse/README.md):
- the caller is the application user whose `applicationid` is the token's app id; none -> 403
  "The user is not a member of the organization."; disabled -> 403;
- reading or writing systemusers and roles, and (dis)associating roles, needs System Administrator;
- importing (or uninstalling) a solution needs System Administrator or System Customizer;
- everything else needs only membership;
- a caller holds its own roles and the roles of every team it is a member of ("the user needs to have either
  the required privilege assigned through a role directly, or needs to be member of a team that has a
  security role with the privilege assigned": https://learn.microsoft.com/power-platform/admin/how-record-access-determined).
"""
from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from typing import Callable

from mscloud.wellknown import SYSTEM_ADMINISTRATOR_TEMPLATE, SYSTEM_CUSTOMIZER_TEMPLATE

from . import errors
from .errors import DataverseError
from .metadata import BY_SET, RELATIONSHIPS, Table

_NS = uuid.UUID("0f4c2b7e-8d1a-4c3e-9b5f-6a7d8e9f0a1b")
# Privilege ids in the 0x80040220 message: Dataverse's are per org; these are the sandbox's (unconfirmed).
_PRIVILEGE_OTC = {"role": 1036, "systemuser": 8, "solution": 7100, "businessunit": 10}

_LOCKS: dict[str, threading.Lock] = {}


def stable_id(*parts: str) -> str:
    """A fixed guid for seeded records, so restarts and docs agree on ids."""
    return str(uuid.uuid5(_NS, "/".join(part.lower() for part in parts)))


def iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_guid(value: str) -> str:
    try:
        return str(uuid.UUID(str(value).strip("{}")))
    except ValueError:
        raise errors.bad_request(f"Invalid guid: '{value}'", errors.INVALID_ARGUMENT) from None


def public(doc: dict) -> dict:
    """The record as the Web API shows it: without the sandbox's `__` bookkeeping."""
    return {key: value for key, value in doc.items() if not key.startswith("__")}


class Caller:
    """The systemuser behind the request's token, with the role template ids it holds."""

    def __init__(self, user: dict, roles: list[dict]):
        self.user = user
        self.roles = roles
        self.templates = {role.get("_roletemplateid_value") for role in roles}
        self.role_names = {role.get("name") for role in roles}

    @property
    def id(self) -> str:
        return self.user["systemuserid"]

    @property
    def is_system_administrator(self) -> bool:
        return SYSTEM_ADMINISTRATOR_TEMPLATE in self.templates

    def missing(self, privilege: str, logical_name: str) -> DataverseError:
        return DataverseError(
            403, errors.PRIVILEGE_MISSING,
            f"Principal user (Id={self.id}, type=8, roleCount={len(self.roles)}, privilegeCount=0, "
            f"accessMode={self.user.get('accessmode', 0)}), is missing {privilege} privilege "
            f"(Id={stable_id('privilege', privilege)}) on OTC={_PRIVILEGE_OTC.get(logical_name, 0)} "
            f"for entity '{logical_name}'. context.Caller={self.id}")


class OrgModel:
    """One Dataverse organization's records and rules over the shared store."""

    def __init__(self, store, org: str, clock: Callable[[], float] = time.time,
                 count_write: Callable[[], None] = lambda: None):
        self.store = store
        self.org = org
        self.clock = clock
        self.count_write = count_write
        self.lock = _LOCKS.setdefault(org, threading.Lock())

    # ---- storage helpers -------------------------------------------------------------------
    def kind(self, entity_set: str) -> str:
        return f"dv:{self.org}:{entity_set}"

    def exists(self) -> bool:
        return bool(self.store.list(self.kind("organizations")))

    def organization(self) -> dict:
        return self.store.list(self.kind("organizations"))[0]

    def root_business_unit(self) -> dict:
        for unit in self.store.list(self.kind("businessunits")):
            if unit.get("_parentbusinessunitid_value") is None:
                return unit
        raise errors.bad_request("The organization has no root business unit.")

    def records(self, entity_set: str) -> list[dict]:
        return self.store.list(self.kind(entity_set))

    def stored(self, entity_set: str) -> list[dict]:
        """The stored records themselves, not copies: for read-only queries that shape copies of what they serve."""
        return self.store.view(self.kind(entity_set))

    def find(self, entity_set: str, **equals) -> list[dict]:
        return self.store.find(self.kind(entity_set), **equals)

    def get(self, entity_set: str, record_id: str) -> dict:
        table = BY_SET[entity_set]
        record_id = normalize_guid(record_id)
        doc = self.store.get(self.kind(entity_set), record_id)
        if doc is None:
            raise errors.not_found(table.logical_name, record_id)
        return doc

    def has(self, entity_set: str, record_id: str) -> bool:
        return self.store.get(self.kind(entity_set), record_id) is not None

    def transaction(self):
        """All or nothing: a change set's writes (store.transaction)."""
        return self.store.transaction()

    def version(self, entity_set: str, record_id: str) -> int | None:
        return self.store.version(self.kind(entity_set), record_id)

    def put(self, entity_set: str, doc: dict) -> None:
        self.store.put(self.kind(entity_set), doc[BY_SET[entity_set].primary_id], doc)
        self.count_write()
        if entity_set == "roles" and self.is_root_role(doc):
            self.mirror_role(doc)

    def discard(self, entity_set: str, record_id: str) -> None:
        if entity_set == "roles":
            for copy in self.find("roles", _parentrootroleid_value=record_id):
                if copy["roleid"] != record_id:
                    self.remove_links(roleid=copy["roleid"])
                    self.store.delete(self.kind("roles"), copy["roleid"])
        if self.store.delete(self.kind(entity_set), record_id):
            self.count_write()

    # ---- callers and permissions -------------------------------------------------------------
    def caller(self, app_id: str | None) -> Caller:
        users = self.find("systemusers", applicationid=(app_id or "").lower()) if app_id else []
        if not users:
            raise errors.not_member()
        user = users[0]
        if user.get("isdisabled"):
            raise DataverseError(403, errors.USER_DISABLED,
                                 f"The user with SystemUserId={user['systemuserid']} in OrganizationContext="
                                 f"{self.organization()['organizationid']} is disabled. Disabled users cannot "
                                 "access the system. Consider enabling this user.")
        return Caller(user, self.effective_roles(user["systemuserid"]))

    def require_system_administrator(self, caller: Caller, privilege: str, logical_name: str) -> None:
        if not caller.is_system_administrator:
            raise caller.missing(privilege, logical_name)

    def require_customizer(self, caller: Caller) -> None:
        if not ({SYSTEM_ADMINISTRATOR_TEMPLATE, SYSTEM_CUSTOMIZER_TEMPLATE} & caller.templates):
            raise caller.missing("prvImportCustomizations", "solution")

    # ---- generic writes (systemusers, roles) -------------------------------------------------
    def _check_columns(self, table: Table, body: dict) -> None:
        allowed = set(table.attributes) | {table.primary_id}
        for key in body:
            if key.startswith("@") or "@" in key:
                continue
            if key not in allowed:
                raise errors.unknown_property(key, table.logical_name)

    def _resolve_binds(self, table: Table, body: dict) -> dict:
        """`x@odata.bind: "/set(id)"` -> `_x_value: id`, checking the target exists."""
        out = {}
        for key, value in body.items():
            if key.endswith("@odata.bind"):
                name = key[: -len("@odata.bind")]
                if name not in table.lookups:
                    raise errors.bad_request(
                        f"An undeclared property '{name}' which only has property annotations in the payload "
                        "but no property value was found in the payload. In OData, only declared navigation "
                        "properties and declared named streams can be represented as properties without values.")
                target_set, target_id = parse_entity_reference(value)
                if target_set != table.lookups[name]:
                    raise errors.bad_request(f"Invalid entity reference for '{name}': '{value}'")
                self.get(target_set, target_id)
                out[f"_{name}_value"] = normalize_guid(target_id)
            elif not key.startswith("@") and "@" not in key:
                out[key] = value
        return out

    def create(self, caller: Caller, entity_set: str, body: dict, record_id: str | None = None) -> dict:
        table = BY_SET[entity_set]
        self.require_system_administrator(caller, f"prvCreate{_privilege_name(table)}", table.logical_name)
        self._check_columns(table, body)
        values = self._resolve_binds(table, body)
        new_id = normalize_guid(values.pop(table.primary_id, None) or record_id or str(uuid.uuid4()))
        if self.store.get(self.kind(entity_set), new_id) is not None:
            raise errors.duplicate("Cannot insert duplicate key.")
        doc = {column: None for column in table.columns}
        doc[table.primary_id] = new_id
        if entity_set == "systemusers":
            doc.update(accessmode=0, isdisabled=False, isintegrationuser=False, islicensed=False)
            doc.update(values)
            self._validate_new_user(doc)
        elif entity_set == "businessunits":
            doc.update(isdisabled=False)
            doc.update(values)
            if not doc.get("name") or not doc.get("_parentbusinessunitid_value"):
                # Text and code unconfirmed: parentbusinessunitid is ApplicationRequired, name the primary name.
                raise errors.bad_request("A business unit needs a name and a parent business unit.",
                                         errors.INVALID_ARGUMENT)
        elif entity_set == "transactioncurrencies":
            doc.update(exchangerate=1.0, currencyprecision=2)
            doc.update(values)
            self._validate_new_currency(doc)
        elif entity_set == "teams":
            doc.update(teamtype=0, isdefault=False, membershiptype=0, _administratorid_value=caller.id)
            doc.update(values)
            if not doc.get("name") or not doc.get("_businessunitid_value"):
                # Text unconfirmed: name and businessunitid are required columns of team.
                raise errors.bad_request("A team needs a name and a business unit.", errors.INVALID_ARGUMENT)
        else:
            doc.update(ismanaged=False, iscustomizable={"Value": True}, solutionid=None)
            doc.update(values)
            if not doc.get("name") or not doc.get("_businessunitid_value"):
                raise errors.bad_request("A role needs a name and a business unit.", errors.INVALID_ARGUMENT)
        self.put(entity_set, doc)
        if entity_set == "businessunits":
            for role in self.root_roles():
                self.mirror_role(role, [doc])
        return doc

    def _validate_new_currency(self, doc: dict) -> None:
        code = str(doc.get("isocurrencycode") or "").upper()
        if not code or not doc.get("currencyname"):
            # Text unconfirmed: Dataverse requires the ISO code and the name of a currency.
            raise errors.bad_request("A currency needs an isocurrencycode and a currencyname.", errors.INVALID_ARGUMENT)
        if any(str(c.get("isocurrencycode") or "").upper() == code for c in self.records("transactioncurrencies")):
            raise errors.duplicate(f"A currency with the ISO code {code} already exists.")
        doc["isocurrencycode"] = code

    def _validate_new_user(self, doc: dict) -> None:
        if not doc.get("_businessunitid_value"):
            # Text unconfirmed: Dataverse requires the business unit of a new user.
            raise errors.bad_request("Attribute 'businessunitid' cannot be NULL", errors.INVALID_ARGUMENT)
        app_id = doc.get("applicationid")
        if app_id:
            app_id = doc["applicationid"] = normalize_guid(app_id)
            principals = self.store.find("servicePrincipals", appId=app_id)
            # A service principal created moments ago is not yet seen by Dataverse (replication delay,
            # sandbox/consistency.py); until then the app id is answered like one the directory does not have.
            known = [sp for sp in principals if sp.get("_replicatedAt", 0) <= self.clock()] if principals \
                else self.store.find("applications", appId=app_id)
            if not known:
                # Text unconfirmed (also for the not-yet-replicated case): Dataverse checks the app id against the
                # tenant's directory.
                raise errors.bad_request(
                    f"The application with id {app_id} was not found in the directory of tenant. "
                    "Make sure the application is registered and has a service principal in the tenant.",
                    errors.INVALID_ARGUMENT)
            if self.find("systemusers", applicationid=app_id):
                raise errors.duplicate_application_user(app_id)
            name = (known[0].get("displayName") or app_id)
            doc.setdefault("fullname", None)
            doc["fullname"] = doc["fullname"] or f"# {name}"
            doc["domainname"] = doc.get("domainname") or f"{app_id}@{self.org}.sandbox"
            doc["accessmode"] = 4 if doc.get("accessmode") in (None, 0) else doc["accessmode"]
        elif doc.get("domainname"):
            if self.find("systemusers", domainname=doc["domainname"]):
                raise errors.duplicate()
        else:
            raise errors.bad_request("A user needs a domainname or an applicationid.", errors.INVALID_ARGUMENT)

    def update(self, caller: Caller, entity_set: str, record_id: str, body: dict,
               if_match: str | None = None) -> dict:
        table = BY_SET[entity_set]
        self.require_system_administrator(caller, f"prvWrite{_privilege_name(table)}", table.logical_name)
        doc = self.get(entity_set, record_id)
        self.check_if_match(entity_set, doc[table.primary_id], if_match)
        self._check_columns(table, body)
        values = self._resolve_binds(table, body)
        values.pop(table.primary_id, None)
        if entity_set == "systemusers" and "applicationid" in values and values["applicationid"] != doc["applicationid"]:
            raise errors.bad_request("The applicationid of a user cannot be changed.", errors.INVALID_ARGUMENT)
        if entity_set == "roles" and self.is_inherited_role(doc):
            raise errors.bad_request("Inherited roles cannot be modified.", errors.INHERITED_ROLE)
        changed = {key: value for key, value in values.items() if doc.get(key) != value}
        if changed:
            if entity_set == "systemusers" and "_businessunitid_value" in changed:
                self.remove_links(systemuserid=doc["systemuserid"])   # moving a user removes its roles
            doc.update(changed)
            self.put(entity_set, doc)
        return doc

    def check_if_match(self, entity_set: str, record_id: str, if_match: str | None) -> None:
        if if_match and if_match.strip() != "*":
            if if_match.strip() != self.etag(entity_set, record_id):
                raise errors.version_mismatch()

    def etag(self, entity_set: str, record_id: str) -> str:
        return f'W/"{self.version(entity_set, record_id) or 0}"'

    def delete(self, caller: Caller, entity_set: str, record_id: str, if_match: str | None = None) -> None:
        table = BY_SET[entity_set]
        if entity_set == "solutions":
            self.uninstall(caller, record_id)
            return
        self.require_system_administrator(caller, f"prvDelete{_privilege_name(table)}", table.logical_name)
        doc = self.get(entity_set, record_id)
        self.check_if_match(entity_set, doc[table.primary_id], if_match)
        if entity_set == "roles" and self.is_inherited_role(doc):
            raise errors.bad_request("Cannot delete a role that is inherited from a parent business.",
                                     errors.INHERITED_ROLE_DELETE)
        if entity_set == "roles" and doc.get("ismanaged"):
            raise errors.bad_request("The object you tried to delete is associated with another object and "
                                     "cannot be deleted.", "0x8004f01b")  # managed component (code unconfirmed)
        if entity_set == "transactioncurrencies":
            base = {o.get("_basecurrencyid_value") for o in self.records("organizations")}
            if doc["transactioncurrencyid"] in base:
                # Text and code unconfirmed: Dataverse refuses to delete the organization's base currency.
                raise errors.bad_request("The base currency cannot be deleted.", "0x80048cf6")
        self.remove_links(**{table.primary_id: doc[table.primary_id]})
        self.discard(entity_set, doc[table.primary_id])

    # ---- business units and the copies of their roles -----------------------------------------
    def is_root_role(self, role: dict) -> bool:
        return role.get("_businessunitid_value") == self.root_business_unit()["businessunitid"]

    def is_inherited_role(self, role: dict) -> bool:
        """A copy of a root role in a child business unit (its parent root role is another role)."""
        parent = role.get("_parentrootroleid_value")
        return bool(parent) and parent != role["roleid"]

    def root_roles(self) -> list[dict]:
        return [role for role in self.records("roles") if self.is_root_role(role)]

    def child_business_units(self) -> list[dict]:
        return [unit for unit in self.records("businessunits") if unit.get("_parentbusinessunitid_value")]

    def mirror_role(self, root_role: dict, units: list[dict] | None = None) -> None:
        """Dataverse keeps a copy of every root role in every child business unit: its own roleid, the same
        name, template and solution, `_parentrootroleid_value` = the root role. The platform's own writes,
        so not counted (the request that caused them was)."""
        for unit in self.child_business_units() if units is None else units:
            copy = role_copy(self.org, root_role, unit["businessunitid"])
            if self.store.get(self.kind("roles"), copy["roleid"]) != copy:
                self.store.put(self.kind("roles"), copy["roleid"], copy)

    # ---- roles, users, teams and their N:N links -----------------------------------------------
    def related(self, entity_set: str, record_id: str, nav: str) -> list[dict]:
        """The rows linked to one record through an N:N relationship's intersect table, in link order."""
        intersect, keys = RELATIONSHIPS[nav]
        target_set = BY_SET[entity_set].collections[nav]
        links = self.store.find(self.kind(intersect), **{keys[entity_set]: record_id})
        found = (self.store.get(self.kind(target_set), link[keys[target_set]]) for link in links)
        return [doc for doc in found if doc]

    def roles_of(self, systemuser_id: str) -> list[dict]:
        return self.related("systemusers", systemuser_id, "systemuserroles_association")

    def effective_roles(self, systemuser_id: str) -> list[dict]:
        """The user's own roles, then the roles of every team it belongs to (each role once)."""
        roles = {role["roleid"]: role for role in self.roles_of(systemuser_id)}
        for team in self.related("systemusers", systemuser_id, "teammembership_association"):
            for role in self.related("teams", team["teamid"], "teamroles_association"):
                roles.setdefault(role["roleid"], role)
        return list(roles.values())

    def _link(self, caller: Caller, entity_set: str, record_id: str, nav: str, target_id: str):
        """(intersect kind, link id, link row) of one N:N pair, both records checked to exist."""
        intersect, keys = RELATIONSHIPS[nav]
        target_set = BY_SET[entity_set].collections[nav]
        privilege = "prvAssignRole" if "roles" in keys else "prvWriteTeam"
        self.require_system_administrator(caller, privilege, "role" if "roles" in keys else "team")
        pair = {entity_set: self.get(entity_set, record_id), target_set: self.get(target_set, target_id)}
        row = {column: pair[side][BY_SET[side].primary_id] for side, column in keys.items()}
        return self.kind(intersect), ":".join(row.values()), row, pair

    def associate(self, caller: Caller, entity_set: str, record_id: str, nav: str, target_id: str) -> None:
        kind, link_id, row, pair = self._link(caller, entity_set, record_id, nav, target_id)
        role = pair.get("roles")
        holder = pair.get("systemusers") or pair.get("teams")
        if role and role.get("_businessunitid_value") != holder.get("_businessunitid_value"):
            raise errors.role_of_other_business_unit()
        if self.store.get(kind, link_id) is not None:
            raise errors.duplicate("Cannot insert duplicate key.")
        self.store.put(kind, link_id, row)
        self.count_write()

    def disassociate(self, caller: Caller, entity_set: str, record_id: str, nav: str, target_id: str) -> None:
        kind, link_id, _, _ = self._link(caller, entity_set, record_id, nav, normalize_guid(target_id))
        if self.store.delete(kind, link_id):
            self.count_write()

    def remove_links(self, **equals) -> None:
        """Drop every N:N link of the record named by one key column (roleid=…, systemuserid=…, teamid=…)."""
        (column, value), = equals.items()
        for intersect, keys in RELATIONSHIPS.values():
            if column not in keys.values():
                continue
            for link in self.store.find(self.kind(intersect), **{column: value}):
                self.store.delete(self.kind(intersect), ":".join(link[c] for c in keys.values()))
                self.count_write()

    # ---- solutions -----------------------------------------------------------------------------
    def installed(self, unique_name: str) -> dict | None:
        found = [s for s in self.records("solutions") if s["uniquename"].lower() == unique_name.lower()]
        return found[0] if found else None

    def uninstall(self, caller: Caller, solution_id: str) -> None:
        self.require_customizer(caller)
        solution = self.get("solutions", solution_id)
        with self.store.transaction():
            for role in self.find("roles", solutionid=solution["solutionid"]):
                self.remove_links(roleid=role["roleid"])
                self.discard("roles", role["roleid"])
            self.discard("solutions", solution["solutionid"])


def role_copy(org: str, root_role: dict, business_unit_id: str) -> dict:
    """The copy of a root role in a child business unit (a stable roleid, so restarts agree)."""
    return {**root_role, "roleid": stable_id(org, "role", root_role["roleid"], business_unit_id),
            "_businessunitid_value": business_unit_id, "_parentrootroleid_value": root_role["roleid"]}


def _privilege_name(table: Table) -> str:
    return {"systemuser": "User", "role": "Role", "businessunit": "BusinessUnit"}.get(table.logical_name, table.logical_name.capitalize())


def parse_entity_reference(value: str) -> tuple[str, str]:
    """'/roles(<id>)', 'roles(<id>)' or '<org>/api/data/v9.2/roles(<id>)' -> ('roles', '<id>')."""
    text = str(value).rstrip("/")
    tail = text.rsplit("/", 1)[-1]
    if "(" not in tail or not tail.endswith(")"):
        raise errors.bad_request(f"The entity reference '{value}' is not valid.")
    entity_set, _, key = tail[:-1].partition("(")
    if entity_set not in BY_SET:
        raise errors.bad_request(f"Resource not found for the segment '{entity_set}'.")
    return entity_set, normalize_guid(key)
