"""Business Central's seed hook: the `businessCentral:` section of the seed YAML into a fresh data dir."""
from __future__ import annotations

from sandbox.bc.models import DEFAULT_VERSION, ENABLED, ENVIRONMENTS, kind, now, register_application, stable_id


def seed(store, seed_doc: dict, ctx) -> None:
    """Environments (version, registered apps), companies (with companyInformation) and salespersons from the
    `businessCentral` section."""
    for environment in (seed_doc.get("businessCentral") or {}).get("environments") or []:
        env = environment["name"]
        version = str(environment.get("version") or DEFAULT_VERSION)
        store.put(ENVIRONMENTS, env, {"name": env, "type": environment.get("type", "Production"), "version": version,
                                      "salespersonFields": environment.get("salespersonFields")})
        for app in environment.get("entraApplications") or []:
            register_application(store, env, str(app["clientId"]), app.get("description", ""),
                                 app.get("state", ENABLED))
        for company in environment.get("companies") or []:
            company_id = str(company.get("id") or stable_id(env, company["name"])).lower()
            stamp = now()
            store.put(kind(env, "companies"), company_id, {
                "id": company_id, "systemVersion": version, "timestamp": 0, "name": company["name"],
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
                person_id = str(person.get("id") or stable_id(env, company_id, person["code"])).lower()
                store.put(kind(env, "salespeoplePurchasers"), person_id, {
                    "id": person_id, "companyId": company_id, "code": person["code"],
                    "displayName": person.get("displayName", ""), "email": person.get("email", ""),
                    "email2": "", "phoneNo": "", "jobTitle": person.get("jobTitle", ""),
                    "commisionPercent": 0, "privacyBlocked": False, "blocked": bool(person.get("blocked", False)),
                    "lastModifiedDateTime": stamp})
