"""The `dataverse:` section of the seed: orgs, root BU, currencies, built-in roles, users and app users.

Runs inside the seeding transaction, once per fresh data dir; plain store writes (no metrics). Users
synced from Entra ID take their name and object id from the graph `users` kind when it is there;
graph `generatedUsers` (bench) get their systemusers too, so 1,000+ users seed in well under a second.
"""
from __future__ import annotations

from .metadata import BY_SET
from .models import SYSTEM_ADMINISTRATOR_TEMPLATE, normalize_guid, role_copy, stable_id
from .user_sync import systemuser_from_entra

CURRENCY_NAMES = {"USD": ("US Dollar", "$"), "EUR": ("Euro", "€"), "GBP": ("Pound Sterling", "£"),
                  "DKK": ("Danish Krone", "kr.")}


def _blank(entity_set: str, **values) -> dict:
    table = BY_SET[entity_set]
    doc = {column: None for column in table.columns}
    doc.update(values)
    return doc


def seed(store, seed_doc: dict, ctx) -> None:
    """Every org of the `dataverse:` section, with its users synced from the seeded directory."""
    section = seed_doc.get("dataverse") or {}
    graph = seed_doc.get("graph") or {}
    domains = (seed_doc.get("tenant") or {}).get("domains") or ["contoso.com"]
    generated = int(graph.get("generatedUsers") or 0)
    directory = {str(u.get("userPrincipalName", "")).lower(): u for u in store.list("users")}
    apps = {str(a.get("appId", "")).lower(): a for a in store.list("applications")}
    for org in section.get("orgs") or []:
        _seed_org(store, org, directory, apps, generated, domains[0])


def _seed_org(store, org: dict, directory: dict, apps: dict, generated: int, domain: str) -> None:
    name = org["name"]

    def put(entity_set: str, doc: dict) -> None:
        store.put(f"dv:{name}:{entity_set}", doc[BY_SET[entity_set].primary_id], doc)

    currencies = list(org.get("currencies") or [])   # the first one is the organization's base currency
    put("organizations", _blank("organizations", organizationid=stable_id(name, "organization"), name=name,
                                _basecurrencyid_value=stable_id(name, "currency", currencies[0]) if currencies else None))
    root = org.get("rootBusinessUnit") or {}
    root_id = normalize_guid(root.get("id") or stable_id(name, "businessunit", name))
    put("businessunits", _blank("businessunits", businessunitid=root_id, name=root.get("name") or name,
                                isdisabled=False, _parentbusinessunitid_value=None))
    for code in org.get("currencies") or []:
        currency_name, symbol = CURRENCY_NAMES.get(code, (code, code))
        put("transactioncurrencies", _blank("transactioncurrencies",
                                            transactioncurrencyid=stable_id(name, "currency", code),
                                            isocurrencycode=code, currencyname=currency_name,
                                            currencysymbol=symbol, exchangerate=1.0, currencyprecision=2))
    unit_ids = {}
    for unit in org.get("businessUnits") or []:   # child business units of the root
        unit_ids[unit["name"]] = normalize_guid(unit.get("id") or stable_id(name, "businessunit", unit["name"]))
        put("businessunits", _blank("businessunits", businessunitid=unit_ids[unit["name"]], name=unit["name"],
                                    isdisabled=False, _parentbusinessunitid_value=root_id))
    role_ids = {}   # (role name, business unit id) -> roleid: the root role and its copy in each child unit
    for role in org.get("roles") or []:
        role_id = normalize_guid(role.get("id") or stable_id(name, "role", role["name"]))
        template = role.get("roletemplateid")
        root_role = _blank("roles", roleid=role_id, name=role["name"], ismanaged=True,
                           solutionid=stable_id(name, "solution", "System"), iscustomizable={"Value": True},
                           _businessunitid_value=root_id,
                           _roletemplateid_value=normalize_guid(template) if template else None,
                           _parentrootroleid_value=role_id)
        put("roles", root_role)
        role_ids[(role["name"], root_id)] = role_id
        for unit_id in unit_ids.values():
            copy = role_copy(name, root_role, unit_id)
            put("roles", copy)
            role_ids[(role["name"], unit_id)] = copy["roleid"]

    def link(user_id: str, role_names, unit_id: str) -> None:
        for role_name in role_names or []:
            role_id = role_ids[(role_name, unit_id)]
            store.put(f"dv:{name}:systemuserroles", f"{user_id}:{role_id}",
                      {"systemuserid": user_id, "roleid": role_id})

    def unit_of(entry: dict) -> str:
        return unit_ids[entry["businessUnit"]] if entry.get("businessUnit") else root_id

    users = list(org.get("users") or [])
    users += [{"domainname": f"user{n:04d}@{domain}", "roles": []} for n in range(1, generated + 1)]
    for user in users:
        upn = user["domainname"]
        entra = directory.get(upn.lower()) or {"displayName": user.get("fullname")}
        doc = systemuser_from_entra(name, entra, upn, unit_of(user), isdisabled=bool(user.get("isdisabled", False)))
        put("systemusers", doc)
        link(doc["systemuserid"], user.get("roles"), unit_of(user))
    for app_user in org.get("applicationUsers") or []:
        app_id = normalize_guid(app_user["applicationid"])
        display = (apps.get(app_id) or {}).get("displayName") or app_id
        user_id = stable_id(name, "systemuser", app_id)
        put("systemusers", _blank("systemusers", systemuserid=user_id, applicationid=app_id,
                                  domainname=f"{app_id}@{domain}", internalemailaddress=f"{app_id}@{domain}",
                                  fullname=f"# {display}", firstname="#", lastname=display,
                                  accessmode=4, isdisabled=False, isintegrationuser=False, islicensed=False,
                                  _businessunitid_value=unit_of(app_user)))
        link(user_id, app_user.get("roles"), unit_of(app_user))


# Referenced so linters see the constant is part of the seed's contract (roles by template id).
__all__ = ["seed", "SYSTEM_ADMINISTRATOR_TEMPLATE"]
