"""`bcsi check`'s Business Central rules: the toolkit's app is let in, the company's currency exists in Dataverse,
salespersons are coupled to Sales users (records in Sales need owners)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mscloud.businesscentral import REGISTRATION_PAGE, NotRegisteredInBusinessCentral
from provisioning import couplings
from provisioning.check_results import CheckResult, failed, passed, warned

if TYPE_CHECKING:
    from provisioning.check import LiveEnvironment


# ---------------------------------------------------------------------------------------------------------
# 3. Business Central lets the toolkit in (no API lists its registered apps: a refused read is the test)

BC_ACCESS = "business central access"


def check_bc_access(env: LiveEnvironment) -> list[CheckResult]:
    client_id = env.clients.credential.client_id
    obj = f"app {client_id} in environment {env.settings.business_central.environment}"
    try:
        company = env.company
    except NotRegisteredInBusinessCentral:
        return [failed(BC_ACCESS, obj, "Business Central rejected the app's token (401 Authentication_InvalidCredentials)",
                       f"in Business Central open {REGISTRATION_PAGE}, add Client ID {client_id} with State Enabled "
                       f"and permission sets, Grant Consent; in Entra ID give the app Business Central's "
                       f"API.ReadWrite.All with admin consent")]
    return [passed(BC_ACCESS, obj, f"registered: reads company {company.get('name')}")]


# ---------------------------------------------------------------------------------------------------------
# 4. Currency


def check_currency(env: LiveEnvironment) -> list[CheckResult]:
    name = "currency"
    info = env.bc.company_information(str(env.company["id"]))
    code = str(info.get("currencyCode") or "").strip().upper()
    obj = f"currency {code or '(none)'} of {env.company.get('name')}"
    currencies = env.dataverse.list("transactioncurrencies", select=["transactioncurrencyid", "isocurrencycode"])
    codes = sorted({str(c.get("isocurrencycode") or "").upper() for c in currencies})
    if not code:
        return [failed(name, obj, "the company has no local currency code in Business Central",
                       "set the LCY Code in BC General Ledger Setup")]
    if code not in codes:
        return [failed(name, obj, f"no Dataverse transaction currency {code} (has: {', '.join(codes) or 'none'})",
                       f"add the currency {code} in Dataverse (Settings > Business Management > Currencies)")]
    return [passed(name, obj, f"Dataverse has transaction currency {code}")]


# ---------------------------------------------------------------------------------------------------------
# 5. Salesperson couplings (the seed's failure cause: records in Sales need owners)


def check_salespersons(env: LiveEnvironment) -> list[CheckResult]:
    name = "salesperson coupling"
    mapping = dict(env.settings.salespersons)
    salespersons, unchecked = couplings.read_salespersons(env.bc, env.company)
    users = couplings.read_sales_users(env.dataverse, mapping.values())
    results = []
    if unchecked:   # an older Business Central: say what could not be checked, check the rest
        results.append(warned(f"{name}.not-checked", f"environment {env.settings.business_central.environment}",
                              unchecked, "update the environment to Business Central 26.0 or later, or review the "
                              "couplings in BC (Dataverse Connection Setup, Couple Salespersons)"))
    for code in sorted(mapping, key=str.upper):
        obj = f"salesperson {code.upper()} -> {mapping[code].lower()}"
        _, problems, _ = couplings.evaluate({code: mapping[code]}, salespersons, users)
        if problems:
            results.append(failed(name, obj, "; ".join(problems),
                                  "unblock or create the salesperson in BC, or fix the user in bcsi:salespersons"))
        else:
            results.append(passed(name, obj, "salesperson active; Sales user enabled with a role"))
    _, _, unmapped = couplings.evaluate(mapping, salespersons, [])
    for code in unmapped:
        results.append(warned(f"{name}.unmapped", f"salesperson {code}", "no Sales user in bcsi:salespersons",
                              f"map {code} to a Sales user in bcsi:salespersons (records it owns will not sync)"))
    return results
