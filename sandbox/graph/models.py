"""Graph directory state and rules: users, groups, subscribed SKUs and licences (no HTTP here).

Documents live in the shared store under the kinds `users`, `groups`, `subscribedSkus`, `organization`
and `deletedItems`. Fields starting with `_` are internal (never served): `_upn` (lower-case UPN, the
lookup key), `_direct` (a user's directly assigned licences), `_members` and `_licenses` (a group's).
Licence consumption is computed from direct and group-based assignments on every read (lazily: only what
the operation asks for), so it can never drift from the assignments themselves. Every state change goes through `_put`/`_delete`, which
call `on_write` (ctx.count_write) only when something really changed.
"""
from __future__ import annotations

import functools
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Collection

from sandbox import consistency

from .errors import bad_request, invalid_value, not_found, read_only, unknown_property


USER_DEFAULT = ("businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName")
USER_WRITABLE = {"accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile",
                 "givenName", "surname", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage",
                 "businessPhones", "usageLocation", "department", "companyName", "employeeId", "city",
                 "country", "state", "streetAddress", "postalCode", "otherMails", "passwordPolicies", "userType",
                 "employeeType", "ageGroup", "faxNumber", "onPremisesImmutableId", "showInAddressList", "identities"}
USER_READ_ONLY = {"id", "createdDateTime", "assignedLicenses", "licenseAssignmentStates", "assignedPlans",
                  "deletedDateTime", "onPremisesSyncEnabled", "proxyAddresses", "creationType", "externalUserState",
                  "lastPasswordChangeDateTime", "provisionedPlans", "signInActivity", "imAddresses"}
GROUP_WRITABLE = {"displayName", "description", "mailNickname", "mailEnabled", "securityEnabled", "groupTypes",
                  "visibility", "isAssignableToRole", "members@odata.bind", "owners@odata.bind"}
_USAGE_LOCATION = re.compile(r"[A-Z]{2}")
_MAIL_NICKNAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}")


def atomic(method):
    """Check and write as one step (the store's transaction lock): two concurrent requests can neither both
    take the last licence unit nor lose each other's group member; a failure half-way rolls back."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.store.transaction():
            return method(self, *args, **kwargs)
    return wrapper


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def public(doc: dict) -> dict:
    """The served form of a stored document: internal `_` fields removed."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def password_is_complex(password: Any) -> bool:
    """Entra's rule: 8-256 characters and three of lower case, upper case, digits, symbols."""
    if not isinstance(password, str) or not 8 <= len(password) <= 256:
        return False
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    return sum(classes) >= 3


class LicenceState:
    """Who holds which SKU, computed from the assignments (direct first, then groups in creation order).

    Lazy, so an operation pays for what it asks: while no group carries a licence, one user's states come from
    that user's document alone; consumption (and any group-based allocation, which depends on it) is one pass
    over the stored documents through `store.view`, without copying them, and only when first asked for.
    """

    def __init__(self, store, skus: list[dict], stamp: str):
        self._store = store
        self._enabled = {sku["skuId"]: usable_units(sku) for sku in skus}
        self._stamp = stamp
        self._now = time.time()
        self._licensed_groups = [g for g in store.view("groups") if applied_licences(g, self._now)]
        self._full: tuple[dict[str, list[dict]], dict[str, int]] | None = None

    @property
    def states(self) -> dict[str, list[dict]]:
        """user id -> licenseAssignmentStates, for every user."""
        return self._allocation()[0]

    @property
    def consumed(self) -> dict[str, int]:
        """skuId -> consumedUnits: while no group carries a licence, the store's running tally of direct
        assignments (no scan of the users per call)."""
        if self._full is None and not self._licensed_groups:
            return {sku: 0 for sku in self._enabled} | self._store.count_by("users", direct_skus)
        return self._allocation()[1]

    def licensed(self, user_id: str, doc: dict | None = None) -> bool:
        """Whether the user holds any licence now (directly or through a group that reached its members)."""
        return any(s["state"] == "Active" for s in self.states_of(user_id, doc))

    def _state(self, licence: dict, group_id: str | None, ok: bool, error: str = "None") -> dict:
        return {"assignedByGroup": group_id, "disabledPlans": list(licence.get("disabledPlans", [])),
                "error": error, "lastUpdatedDateTime": self._stamp, "skuId": licence["skuId"],
                "state": "Active" if ok else "Error"}

    def _allocation(self) -> tuple[dict[str, list[dict]], dict[str, int]]:
        if self._full is not None:
            return self._full
        states: dict[str, list[dict]] = {}
        consumed = {sku: 0 for sku in self._enabled}
        users = self._store.view("users")
        for user in users:
            for licence in user.get("_direct", []):
                consumed[licence["skuId"]] = consumed.get(licence["skuId"], 0) + 1
                states.setdefault(user["id"], []).append(self._state(licence, None, True))
        user_ids = {user["id"] for user in users} if self._licensed_groups else set()
        for group in self._licensed_groups:
            for licence in applied_licences(group, self._now):
                sku = licence["skuId"]
                for member in group.get("_members", []):
                    if member not in user_ids:
                        continue  # only users hold licences; nested groups are not expanded (as in Entra)
                    if _active(states.get(member, []), sku):
                        states[member].append(self._state(licence, group["id"], True))
                    elif consumed.get(sku, 0) < self._enabled.get(sku, 0):
                        consumed[sku] = consumed.get(sku, 0) + 1
                        states.setdefault(member, []).append(self._state(licence, group["id"], True))
                    else:
                        states.setdefault(member, []).append(self._state(licence, group["id"], False, "CountViolation"))
        self._full = (states, consumed)
        return self._full

    def states_of(self, user_id: str, doc: dict | None = None) -> list[dict]:
        """One user's licenseAssignmentStates; `doc`, the user's stored document, saves looking it up."""
        if self._full is None and not self._licensed_groups:
            doc = doc if doc is not None else self._store.get("users", user_id)
            return [self._state(licence, None, True) for licence in (doc or {}).get("_direct", [])]
        return self.states.get(user_id, [])

    def effective(self, user_id: str, doc: dict | None = None) -> list[dict]:
        """`assignedLicenses`: active SKUs; a plan is disabled only if every active assignment disables it."""
        merged: dict[str, set[str] | None] = {}
        for state in self.states_of(user_id, doc):
            if state["state"] != "Active":
                continue
            plans = set(state["disabledPlans"])
            previous = merged.get(state["skuId"])
            merged[state["skuId"]] = plans if previous is None else previous & plans
        return [{"disabledPlans": sorted(plans or ()), "skuId": sku} for sku, plans in merged.items()]

    def holds(self, user_id: str, sku_id: str, doc: dict | None = None) -> bool:
        return _active(self.states_of(user_id, doc), sku_id)


def direct_skus(user: dict) -> list[str]:
    """The SKUs assigned to a user directly (the store tallies users by them)."""
    return [licence["skuId"] for licence in user.get("_direct", [])]


def usable_units(sku: dict) -> int:
    """Units that can be assigned: enabled plus those in their grace period (warning); suspended and locked-out
    units cannot (https://learn.microsoft.com/graph/api/resources/licenseunitsdetail; "Total units ... sum of active
    and warning units", https://learn.microsoft.com/dotnet/api/microsoft.store.partnercenter.models.licenses.subscribedsku)."""
    return int(sku.get("enabled", 0)) + int(sku.get("warning", 0))


def capability_status(sku: dict) -> str:
    """Enabled while any unit is active; else the state the remaining units are in."""
    for status, field in (("Enabled", "enabled"), ("Warning", "warning"), ("Suspended", "suspended"),
                          ("LockedOut", "lockedOut")):
        if int(sku.get(field, 0)) > 0:
            return status
    return "Enabled"


def applied_licences(group: dict, now: float) -> list[dict]:
    """A group's licences that have reached its members: group-based licensing runs in the background."""
    return [l for l in group.get("_licenses", []) if l.get("_appliesAt", 0) <= now]


def _active(states: list[dict], sku_id: str) -> bool:
    return any(s["skuId"] == sku_id and s["state"] == "Active" for s in states)


class TenantModel:
    """Shared by the Graph models: persistence that counts a write only when a document really changes."""

    def __init__(self, store, tenant_id: str, on_write: Callable[[], None] | None = None):
        self.store = store
        self.tenant_id = tenant_id
        self.on_write = on_write or (lambda: None)

    def _put(self, kind: str, doc: dict) -> dict:
        if self.store.get(kind, doc["id"]) != doc:
            self.store.put(kind, doc["id"], doc)
            self.on_write()
        return doc

    def _delete(self, kind: str, id_: str) -> None:
        if self.store.delete(kind, id_):
            self.on_write()

    def _get(self, kind: str, key: str) -> dict:
        """A document by id, or Graph's 404 naming the key."""
        doc = self.store.get(kind, key)
        if doc is None:
            raise not_found(key)
        return doc

    def _check_properties(self, body: Any, writable: Collection[str], readonly: Collection[str] = ()) -> None:
        """Graph's 400s for a body that is not an object, sets a read-only property or names an unknown one."""
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.")
        for prop in body:
            if prop in readonly:
                raise read_only(prop)
            if prop not in writable and not prop.startswith("@odata."):
                raise unknown_property(prop)


class Directory(TenantModel):
    """Users, groups, SKUs and licences of the sandbox tenant, with Graph's rules (and its replication delays,
    sandbox/consistency.py)."""

    @functools.cached_property
    def consistency(self) -> consistency.Consistency:
        return consistency.load(self.store)

    def _queue_sync(self, user_ids, delay: str | None = None) -> None:
        """Dataverse looks at these users after its sync delay (plus `delay`, e.g. group licensing)."""
        settings = self.consistency
        due = settings.due("dataverseUserSync") + (settings.delay(delay) if delay else 0)
        consistency.queue_user_sync(self.store, list(user_ids), due)

    # -- tenant ------------------------------------------------------------------------------------
    def organization(self) -> dict:
        return self.store.get("organization", self.tenant_id) or {"id": self.tenant_id, "displayName": "",
                                                                    "domains": []}

    def domains(self) -> list[str]:
        return list(self.organization().get("domains", []))

    # -- users -------------------------------------------------------------------------------------
    def find_user(self, key: str) -> dict | None:
        """A user by object id or by UPN (case-insensitive), as Graph resolves /users/{id|upn}."""
        doc = self.store.get("users", key)
        if doc is None and "@" in key:
            found = self.store.find("users", _upn=key.lower())
            doc = found[0] if found else None
        return doc

    def user(self, key: str) -> dict:
        doc = self.find_user(key)
        if doc is None:
            raise not_found(key)
        return doc

    def users(self) -> list[dict]:
        return self.store.list("users")

    @atomic
    def create_user(self, body: dict, id_: str | None = None) -> dict:
        self._check_properties(body, USER_WRITABLE, USER_READ_ONLY)
        for prop in ("accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"):
            if body.get(prop) in (None, ""):
                raise invalid_value(prop, "User")
        profile = body["passwordProfile"]
        if not isinstance(profile, dict) or not profile.get("password"):
            raise invalid_value("passwordProfile", "User")
        self._check_password(profile["password"])
        upn = self._check_upn(body["userPrincipalName"])
        self._check_user_values(body)
        doc = {k: v for k, v in body.items() if k != "passwordProfile"}
        doc.update(id=id_ or str(uuid.uuid4()), userPrincipalName=upn, _upn=upn.lower(),
                   createdDateTime=now(), _direct=[])
        doc.setdefault("businessPhones", [])
        doc.setdefault("userType", "Member")
        for prop in USER_DEFAULT:
            doc.setdefault(prop, None)
        doc["passwordProfile"] = {"forceChangePasswordNextSignIn": bool(profile.get("forceChangePasswordNextSignIn", True))}
        self._queue_sync([doc["id"]])
        return self._put("users", doc)

    @atomic
    def update_user(self, key: str, body: dict) -> dict:
        doc = self.user(key)
        self._check_properties(body, USER_WRITABLE, USER_READ_ONLY)
        self._check_user_values(body)
        changed = dict(doc)
        for prop, value in body.items():
            if prop == "passwordProfile":
                if not isinstance(value, dict):
                    raise invalid_value("passwordProfile", "User")
                if "password" in value:
                    self._check_password(value["password"])
                changed["passwordProfile"] = {"forceChangePasswordNextSignIn":
                                              bool(value.get("forceChangePasswordNextSignIn", True))}
            elif prop == "userPrincipalName":
                changed["userPrincipalName"] = self._check_upn(value, except_id=doc["id"])
                changed["_upn"] = value.lower()
            elif prop == "usageLocation" and value != doc.get("usageLocation"):
                # assignLicense keeps seeing the old location until the change has replicated
                changed.update(usageLocation=value, _usageLocationBefore=self.usage_location(doc),
                               _usageLocationSeenAt=self.consistency.due("usageLocation"))
            else:
                changed[prop] = value
        if body.get("accountEnabled") is True and not doc.get("accountEnabled"):
            self._queue_sync([doc["id"]])
        return self._put("users", changed)

    @staticmethod
    def usage_location(doc: dict) -> str | None:
        """The usage location licence assignment sees now: a new one only after it has replicated."""
        if doc.get("_usageLocationSeenAt", 0) > time.time():
            return doc.get("_usageLocationBefore")
        return doc.get("usageLocation")

    @atomic
    def delete_user(self, key: str) -> None:
        doc = self.user(key)
        for group in self.store.list("groups"):
            if doc["id"] in group.get("_members", []):
                group["_members"] = [m for m in group["_members"] if m != doc["id"]]
                self._put("groups", group)
        doc["deletedDateTime"] = now()
        self.store.put("deletedItems", doc["id"], doc)  # soft delete: kept 30 days in Entra
        self._delete("users", doc["id"])

    def _check_password(self, password: Any) -> None:
        if not password_is_complex(password):
            raise bad_request("The specified password does not comply with password complexity requirements. "
                              "Please provide a different password.")

    def _check_upn(self, upn: Any, except_id: str | None = None) -> str:
        if not isinstance(upn, str) or upn.count("@") != 1 or not upn.split("@")[0]:
            raise invalid_value("userPrincipalName", "User")
        domain = upn.split("@")[1].lower()
        if domain not in [d.lower() for d in self.domains()]:
            raise bad_request("The domain portion of the userPrincipalName property is invalid. "
                              "You must use one of the verified domain names in your organization.")
        clash = [u for u in self.store.find("users", _upn=upn.lower()) if u["id"] != except_id]
        if clash:
            raise bad_request("Another object with the same value for property userPrincipalName already exists.")
        return upn

    def _check_user_values(self, body: dict) -> None:
        location = body.get("usageLocation")
        if location is not None and not (isinstance(location, str) and _USAGE_LOCATION.fullmatch(location)):
            raise invalid_value("usageLocation", "User")
        nickname = body.get("mailNickname")
        if nickname is not None and not (isinstance(nickname, str) and _MAIL_NICKNAME.fullmatch(nickname)):
            raise invalid_value("mailNickname", "User")
        if "accountEnabled" in body and not isinstance(body["accountEnabled"], bool):
            raise invalid_value("accountEnabled", "User")

    # -- groups ------------------------------------------------------------------------------------
    def group(self, key: str) -> dict:
        return self._get("groups", key)

    def groups(self) -> list[dict]:
        return self.store.list("groups")

    @atomic
    def create_group(self, body: dict, id_: str | None = None) -> dict:
        self._check_properties(body, GROUP_WRITABLE, {"id", "createdDateTime", "assignedLicenses"})
        for prop in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
            if body.get(prop) in (None, ""):
                raise invalid_value(prop, "Group")
        members = [self._object_from_ref(ref) for ref in body.get("members@odata.bind", [])]
        doc = {k: v for k, v in body.items() if not k.endswith("@odata.bind")}
        doc.update(id=id_ or str(uuid.uuid4()), createdDateTime=now(), _members=list(dict.fromkeys(members)),
                   _licenses=[])
        doc.setdefault("description", None)
        doc.setdefault("groupTypes", [])
        doc.setdefault("mail", None)
        doc.setdefault("visibility", None)
        return self._put("groups", doc)

    @atomic
    def delete_group(self, key: str) -> None:
        doc = self.group(key)
        doc["deletedDateTime"] = now()
        self.store.put("deletedItems", doc["id"], doc)
        self._delete("groups", doc["id"])

    def directory_object(self, id_: str) -> tuple[str, dict] | None:
        """(kind, doc) of a user, group or service principal with this object id."""
        for kind in ("users", "groups", "servicePrincipals"):
            doc = self.store.get(kind, id_)
            if doc is not None:
                return kind, doc
        return None

    def _object_from_ref(self, ref: Any) -> str:
        """The object id an `@odata.id` / `@odata.bind` URL points at (…/directoryObjects/{id})."""
        if not isinstance(ref, str) or not ref.strip("/"):
            raise bad_request("Invalid object identifier ''.")
        id_ = ref.rstrip("/").rsplit("/", 1)[-1]
        if id_.startswith("directoryObjects(") or "(" in id_:
            id_ = id_.split("(", 1)[1].rstrip(")").strip("'")
        if self.directory_object(id_) is None:
            raise not_found(id_)
        return id_

    def members(self, key: str) -> list[tuple[str, dict]]:
        group = self.group(key)
        return [found for found in map(self.directory_object, group.get("_members", [])) if found]

    @atomic
    def add_member(self, key: str, ref: Any) -> None:
        group = self.group(key)
        member = self._object_from_ref(ref)
        if member in group["_members"]:
            raise bad_request("One or more added object references already exist for the following "
                              "modified properties: 'members'.")
        group["_members"].append(member)
        if group.get("_licenses"):
            self._queue_sync([member], delay="groupLicensing")
        self._put("groups", group)

    @atomic
    def remove_member(self, key: str, member: str) -> None:
        group = self.group(key)
        if member not in group["_members"]:
            raise not_found(member)
        group["_members"].remove(member)
        self._put("groups", group)

    def member_of(self, user_id: str) -> list[dict]:
        return [g for g in self.store.list("groups") if user_id in g.get("_members", [])]

    # -- SKUs and licences -------------------------------------------------------------------------
    def skus(self) -> list[dict]:
        return self.store.list("subscribedSkus")

    def licence_state(self) -> LicenceState:
        """Consumption and per-user assignment states from direct and group-based assignments (lazy)."""
        return LicenceState(self.store, self.store.view("subscribedSkus"), now())

    def _sku(self, sku_id: Any) -> dict:
        sku = self.store.get("subscribedSkus", str(sku_id).lower()) if isinstance(sku_id, str) else None
        if sku is None:
            # Unconfirmed wording; Graph answers 400 Request_BadRequest for a SKU the tenant does not own.
            raise bad_request(f"License {sku_id} does not correspond to a valid company License.")
        return sku

    def _licence_changes(self, body: Any) -> tuple[list[dict], list[str]]:
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.")
        missing = [p for p in ("addLicenses", "removeLicenses") if p not in body or body[p] is None]
        if missing:
            raise bad_request("One or more parameters of the operation 'assignLicense' are missing from the "
                              f"request payload. The missing parameters are: {', '.join(missing)}.")
        add, remove = body["addLicenses"], body["removeLicenses"]
        if not isinstance(add, list) or not isinstance(remove, list):
            raise bad_request("Invalid value specified for parameter 'addLicenses' of operation 'assignLicense'.")
        licences = []
        for item in add:
            if not isinstance(item, dict):
                raise bad_request("Invalid value specified for parameter 'addLicenses' of operation 'assignLicense'.")
            sku = self._sku(item.get("skuId"))
            plans = item.get("disabledPlans") or []
            known = {p["servicePlanId"] for p in sku["servicePlans"]}
            for plan in plans:
                if not isinstance(plan, str) or plan.lower() not in known:
                    # Unconfirmed wording: Graph rejects a disabled plan that is not part of the SKU with 400.
                    raise bad_request(f"Service plan {plan} is not valid for license {sku['skuId']}.")
            licences.append({"disabledPlans": sorted(p.lower() for p in plans), "skuId": sku["skuId"]})
        removed = [self._sku(sku_id)["skuId"] for sku_id in remove]
        return licences, removed

    @atomic
    def assign_user_licence(self, key: str, body: Any) -> dict:
        """POST /users/{id}/assignLicense: Graph's checks in Graph's order, then one write (or none)."""
        user = self.user(key)
        add, remove = self._licence_changes(body)
        if add and not self.usage_location(user):
            raise bad_request("License assignment cannot be done for user with invalid usage location.")
        state = self.licence_state()
        direct = {l["skuId"]: l for l in user.get("_direct", [])}
        for sku in remove:
            if sku not in direct and state.holds(user["id"], sku, user):
                raise bad_request("User license is inherited from a group membership and it cannot be removed "
                                  "directly from the user.")
            direct.pop(sku, None)
        usable = {s["skuId"]: usable_units(s) for s in self.skus()}
        for licence in add:
            sku = licence["skuId"]
            if not state.holds(user["id"], sku, user) and state.consumed.get(sku, 0) >= usable.get(sku, 0):
                raise bad_request(f"Subscription with SKU {sku} does not have any available licenses.")
            direct[sku] = licence   # re-adding a held SKU replaces its disabledPlans
        user["_direct"] = list(direct.values())
        if add:
            self._queue_sync([user["id"]])
        return self._put("users", user)

    @atomic
    def assign_group_licence(self, key: str, body: Any) -> dict:
        """POST /groups/{id}/assignLicense: accepted; members who cannot get a unit show CountViolation."""
        group = self.group(key)
        if not group.get("securityEnabled"):
            raise bad_request("License assignment failed because group is not security enabled.")
        add, remove = self._licence_changes(body)
        licences = {l["skuId"]: l for l in group.get("_licenses", [])}
        for sku in remove:
            licences.pop(sku, None)
        applies = self.consistency.due("groupLicensing")
        for licence in add:
            licences[licence["skuId"]] = {**licence, "_appliesAt": applies}   # processed in the background
        group["_licenses"] = list(licences.values())
        if add:
            self._queue_sync(group.get("_members", []), delay="groupLicensing")
        return self._put("groups", group)

    def licence_details(self, key: str) -> list[dict]:
        """GET /users/{id}/licenseDetails: effective SKUs (direct and inherited) with plan status."""
        user = self.user(key)
        skus = {s["skuId"]: s for s in self.skus()}
        details = []
        for licence in self.licence_state().effective(user["id"], user):
            sku = skus[licence["skuId"]]
            disabled = set(licence["disabledPlans"])
            details.append({
                "id": f"{user['id']}_{sku['skuId']}",
                "skuId": sku["skuId"],
                "skuPartNumber": sku["skuPartNumber"],
                "servicePlans": [{"servicePlanId": p["servicePlanId"], "servicePlanName": p["servicePlanName"],
                                  "provisioningStatus": "Disabled" if p["servicePlanId"] in disabled else "Success",
                                  "appliesTo": "User"} for p in sku["servicePlans"]],
            })
        return details

    def subscribed_skus(self) -> list[dict]:
        """GET /subscribedSkus with consumedUnits counted from the assignments."""
        consumed = self.licence_state().consumed
        return [{
            "accountId": self.tenant_id, "accountName": self.organization().get("displayName", ""),
            "appliesTo": "User", "capabilityStatus": capability_status(sku),
            "consumedUnits": consumed.get(sku["skuId"], 0), "id": f"{self.tenant_id}_{sku['skuId']}",
            "prepaidUnits": {"enabled": sku["enabled"], "lockedOut": sku.get("lockedOut", 0),
                             "suspended": sku.get("suspended", 0), "warning": sku.get("warning", 0)},
            "servicePlans": [{"servicePlanId": p["servicePlanId"], "servicePlanName": p["servicePlanName"],
                              "provisioningStatus": "Success", "appliesTo": "User"} for p in sku["servicePlans"]],
            "skuId": sku["skuId"], "skuPartNumber": sku["skuPartNumber"], "subscriptionIds": [],
        } for sku in self.skus()]

    def user_view(self, doc: dict, state: LicenceState) -> dict:
        """The full Graph representation of a stored user (routes cut it down with $select)."""
        view = public(doc)
        view["assignedLicenses"] = state.effective(doc["id"], doc)
        view["licenseAssignmentStates"] = state.states_of(doc["id"], doc)
        return view

    def group_view(self, doc: dict) -> dict:
        view = public(doc)
        view["assignedLicenses"] = [public(l) for l in doc.get("_licenses", [])]
        return view


def directory(ctx) -> Directory:
    """The directory as a handler sees it: writes counted on ctx."""
    return Directory(ctx.store, ctx.tenant_id, on_write=ctx.count_write)

