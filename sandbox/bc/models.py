"""Business Central's state, without HTTP: environments, companies, companyInformation, salespersonPurchasers.

Kinds: `bc:environments` (name -> {name}), `bc:<environment>:companies`, `bc:<environment>:companyInformation`
(id = company id), `bc:<environment>:salespersonPurchasers` (each with `companyId`).
"""
from __future__ import annotations

import datetime as dt
import uuid

ENVIRONMENTS = "bc:environments"


def kind(environment: str, entity: str) -> str:
    return f"bc:{environment}:{entity}"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:bc:" + ":".join(p.lower() for p in parts)))


def seed(store, seed_doc: dict, ctx) -> None:
    """Environments, companies (with companyInformation) and salespersons from the `businessCentral` section."""
    for environment in (seed_doc.get("businessCentral") or {}).get("environments") or []:
        env = environment["name"]
        store.put(ENVIRONMENTS, env, {"name": env, "type": environment.get("type", "Production")})
        for company in environment.get("companies") or []:
            company_id = str(company.get("id") or _stable_id(env, company["name"])).lower()
            stamp = now()
            store.put(kind(env, "companies"), company_id, {
                "id": company_id, "systemVersion": "25.0.23364.0", "timestamp": 0, "name": company["name"],
                "displayName": company.get("displayName", company["name"]), "businessProfileId": "",
                "systemCreatedAt": stamp, "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
                "systemModifiedAt": stamp, "systemModifiedBy": "00000000-0000-0000-0000-000000000001"})
            store.put(kind(env, "companyInformation"), company_id, {
                "id": company_id, "displayName": company.get("displayName", company["name"]),
                "addressLine1": company.get("addressLine1", ""), "addressLine2": "", "city": company.get("city", ""),
                "state": "", "country": company.get("country", ""), "postalCode": "", "phoneNumber": "",
                "faxNumber": "", "email": company.get("email", ""), "website": "", "taxRegistrationNumber": "",
                "currencyCode": company.get("currencyCode", "USD"), "currentFiscalYearStartDate": "2026-01-01",
                "industry": "", "picture@odata.mediaReadLink": "", "lastModifiedDateTime": stamp})
            for person in company.get("salespersons") or []:
                person_id = str(person.get("id") or _stable_id(env, company_id, person["code"])).lower()
                store.put(kind(env, "salespersonPurchasers"), person_id, {
                    "id": person_id, "companyId": company_id, "code": person["code"],
                    "displayName": person.get("displayName", ""), "email": person.get("email", ""),
                    "email2": "", "phoneNo": "", "jobTitle": person.get("jobTitle", ""),
                    "commisionPercent": 0, "privacyBlocked": False, "blocked": bool(person.get("blocked", False)),
                    "lastModifiedDateTime": stamp})


def environment_exists(store, environment: str) -> bool:
    return store.get(ENVIRONMENTS, environment) is not None


def company(store, environment: str, company_id: str) -> dict | None:
    return store.get(kind(environment, "companies"), company_id.lower())


def companies(store, environment: str) -> list[dict]:
    return store.list(kind(environment, "companies"))


def company_information(store, environment: str, company_id: str) -> dict | None:
    return store.get(kind(environment, "companyInformation"), company_id.lower())


def salespersons(store, environment: str, company_id: str) -> list[dict]:
    return store.find(kind(environment, "salespersonPurchasers"), companyId=company_id.lower())


# What a PATCH of salespersonPurchasers may change (id, code, companyId and timestamps are BC's own).
SALESPERSON_WRITABLE = ("displayName", "email", "email2", "phoneNo", "jobTitle", "commisionPercent",
                        "privacyBlocked", "blocked")


def update_salesperson(store, environment: str, person: dict, changes: dict) -> dict:
    """Apply a PATCH body to a salesperson; returns the stored record (lastModifiedDateTime refreshed)."""
    updated = {**person, **changes, "lastModifiedDateTime": now()}
    store.put(kind(environment, "salespersonPurchasers"), person["id"], updated)
    return updated
