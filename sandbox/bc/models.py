"""Business Central's state and rules, without HTTP: environments, companies, companyInformation, salespersons,
and the apps registered on the environment's "Microsoft Entra Applications" page.

Kinds: `bc:environments` (name -> {name, type, version}), `bc:<environment>:companies`,
`bc:<environment>:companyInformation` (id = company id), `bc:<environment>:salespeoplePurchasers` (each with
`companyId`), `bc:<environment>:entraApplications` (id = client id, lower case: {clientId, description, state}).
"""
from __future__ import annotations

import datetime as dt
import uuid

from sandbox.bc import errors

ENVIRONMENTS = "bc:environments"


def kind(environment: str, entity: str) -> str:
    return f"bc:{environment}:{entity}"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:bc:" + ":".join(p.lower() for p in parts)))


def environment_exists(store, environment: str) -> bool:
    return store.get(ENVIRONMENTS, environment) is not None


# --- Microsoft Entra Applications (table 9012 "AAD Application", list page 9860) ---------------------------------
ENTRA_APPLICATIONS = "entraApplications"
ENABLED = "Enabled"


def register_application(store, environment: str, client_id: str, description: str = "", state: str = ENABLED) -> None:
    """A row of the environment's Microsoft Entra Applications page: BC accepts app-only tokens only from these."""
    store.put(kind(environment, ENTRA_APPLICATIONS), client_id.lower(),
              {"clientId": client_id.lower(), "description": description, "state": state})


def application_registered(store, environment: str, client_id: str | None) -> bool:
    """The app is on the page and Enabled (a Disabled row signs in no better than a missing one: unconfirmed)."""
    row = store.get(kind(environment, ENTRA_APPLICATIONS), str(client_id or "").lower())
    return row is not None and row.get("state") == ENABLED


# --- What the environment's BC version serves --------------------------------------------------------------------
# API v2.0 page 30075 "APIV2 - Salesperson/Purchaser" first shipped with BC 26.0 (microsoft/ALAppExtensions
# Apps/W1/APIV2/app/src/pages/APIV2SalespersonPurchaser.Page.al, synced with version 26.0.27417.0).
SALESPERSONS_SINCE = (26, 0)
DEFAULT_VERSION = "26.0.27417.0"


def version(store, environment: str) -> str:
    return (store.get(ENVIRONMENTS, environment) or {}).get("version") or DEFAULT_VERSION


def serves_salespersons(store, environment: str) -> bool:
    major, minor = (int(part) for part in version(store, environment).split(".")[:2])
    return (major, minor) >= SALESPERSONS_SINCE


def salesperson_fields(store, environment: str) -> tuple[str, ...] | None:
    """The fields the environment's salesperson page has; None: all of API v2.0's (every released version)."""
    fields = (store.get(ENVIRONMENTS, environment) or {}).get("salespersonFields")
    return tuple(fields) if fields else None


def company(store, environment: str, company_id: str) -> dict | None:
    return store.get(kind(environment, "companies"), company_id.lower())


def companies(store, environment: str) -> list[dict]:
    return store.list(kind(environment, "companies"))


def company_information(store, environment: str, company_id: str) -> dict | None:
    return store.get(kind(environment, "companyInformation"), company_id.lower())


def salespersons(store, environment: str, company_id: str) -> list[dict]:
    return store.find(kind(environment, "salespeoplePurchasers"), companyId=company_id.lower())


SALESPERSONS = "salespeoplePurchasers"
# What a PATCH of salespeoplePurchasers may change (id, code, companyId and timestamps are BC's own).
SALESPERSON_WRITABLE = ("displayName", "email", "email2", "phoneNo", "jobTitle", "commisionPercent",
                        "privacyBlocked", "blocked")


def etag(store, environment: str, entity: str, id_: str) -> str:
    """BC's weak ETag for a record, from the store's row version."""
    return f'W/"JzE5OzE{store.version(kind(environment, entity), id_) or 0}MTswMDsn"'


def salesperson(store, environment: str, company_id: str, salesperson_id: str) -> dict:
    """One salesperson of the company; 404 when it does not exist there."""
    found = store.get(kind(environment, SALESPERSONS), salesperson_id.strip("'").lower())
    if found is None or found.get("companyId") != company_id:
        raise errors.not_found()
    return found


def _check_if_match(store, environment: str, person: dict, if_match: str | None) -> None:
    """PATCH/DELETE need If-Match: the current ETag or *; a stale one is BC's 409 Request_EntityChanged."""
    if not if_match:
        raise errors.if_match_missing()
    if if_match.strip() != "*" and if_match.strip() != etag(store, environment, SALESPERSONS, person["id"]):
        raise errors.entity_changed()


def create_salesperson(store, environment: str, company_id: str, fields: dict) -> dict:
    """A new salesperson; its code is unique in the company (BC's primary key)."""
    with store.transaction():
        if any(other["code"] == fields["code"] for other in salespersons(store, environment, company_id)):
            raise errors.duplicate_code(fields["code"])
        doc = {"id": str(uuid.uuid4()), "companyId": company_id, "code": "", "displayName": "", "email": "",
               "email2": "", "phoneNo": "", "jobTitle": "", "commisionPercent": 0, "privacyBlocked": False,
               "blocked": False}
        doc.update(fields)
        doc["lastModifiedDateTime"] = now()
        store.put(kind(environment, SALESPERSONS), doc["id"], doc)
    return doc


def update_salesperson(store, environment: str, company_id: str, salesperson_id: str, if_match: str | None,
                       changes) -> tuple[dict, bool]:
    """Apply a PATCH body (writable fields, BC's types); returns (the record, whether anything changed)."""
    with store.transaction():
        found = salesperson(store, environment, company_id, salesperson_id)
        _check_if_match(store, environment, found, if_match)
        if not isinstance(changes, dict):
            raise errors.bad_request("The request body is not a JSON object.")
        for key, value in changes.items():
            if key not in SALESPERSON_WRITABLE:
                raise errors.bad_request(f"The property '{key}' cannot be modified.")
            if isinstance(found.get(key), bool) and not isinstance(value, bool):
                raise errors.bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'.")
        if not any(found.get(key) != value for key, value in changes.items()):
            return found, False
        updated = {**found, **changes, "lastModifiedDateTime": now()}
        store.put(kind(environment, SALESPERSONS), found["id"], updated)
    return updated, True


def delete_salesperson(store, environment: str, company_id: str, salesperson_id: str, if_match: str | None) -> None:
    with store.transaction():
        found = salesperson(store, environment, company_id, salesperson_id)
        _check_if_match(store, environment, found, if_match)
        store.delete(kind(environment, SALESPERSONS), found["id"])
