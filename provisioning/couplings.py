"""SalespersonCouplings: BC salespersons paired with Sales users, validated (never written) and exported.

Business Central has no public API to write the coupling (README.md, *Salesperson couplings*), so this dynamic resource only reads:
every configured salesperson code exists in BC `salespeoplePurchasers` and is not blocked; every mapped Sales
user exists in Dataverse, is enabled and holds at least one role. Its output `couplings` is what the BC side
applies (Dataverse Connection Setup, "Couple Salespersons"). Unmapped salespersons are warned about.
"""
from __future__ import annotations

import pulumi
import pulumi.dynamic as dynamic

from mscloud.businesscentral import SalespersonsUnavailable
from mscloud.connection import clients_for
from mscloud.dataverse import in_filters

DATAVERSE_IN_CHUNK = 50   # UPNs per In(domainname) query: keeps the URL well under Dataverse's limits


class CouplingError(Exception):
    """A configured coupling that Business Central's sync would reject."""


# ---------------------------------------------------------------------------------------------------------
# Pure logic


def user_filters(upns, chunk: int = DATAVERSE_IN_CHUNK) -> list[str]:
    """Microsoft.Dynamics.CRM.In filters on domainname, `chunk` UPNs each (sorted, lower-case, each once)."""
    return in_filters("domainname", sorted({u.lower() for u in upns}), max_values=chunk)


def pick_company(companies: list[dict], name: str | None) -> dict:
    """The configured company (by name or display name), or the only one when none is configured."""
    if name:
        for company in companies:
            if name.casefold() in (str(company.get("name", "")).casefold(), str(company.get("displayName", "")).casefold()):
                return company
    elif len(companies) == 1:
        return companies[0]
    names = ", ".join(sorted(str(c.get("name")) for c in companies)) or "none"
    what = f"no company named {name!r}" if name else "several companies and no bcsi:businessCentral.company"
    raise CouplingError(f"Business Central has {what} (companies: {names})")


def evaluate(mapping: dict[str, str], salespersons: list[dict] | None,
             sales_users: list[dict]) -> tuple[list[dict], list[str], list[str]]:
    """(couplings, problems, unmapped codes) for code -> UPN `mapping` against live BC and Dataverse rows.

    `salespersons` None: BC could not list them (before 26.0); only the Sales users are checked then.
    """
    unknown_side = salespersons is None
    by_code = {str(s.get("code", "")).upper(): s for s in salespersons or []}
    by_upn = {str(u.get("domainname", "")).lower(): u for u in sales_users}
    couplings, problems = [], []
    for code in sorted(mapping, key=str.upper):
        upn = mapping[code].lower()
        person = by_code.get(code.upper(), {} if unknown_side else None)
        user = by_upn.get(upn)
        if person is None:
            problems.append(f"salesperson {code} does not exist in Business Central")
        elif person.get("blocked"):
            problems.append(f"salesperson {code} ({person.get('displayName')}) is blocked in Business Central")
        if user is None:
            problems.append(f"Sales user {upn} (for {code}) does not exist in Dataverse")
        elif user.get("isdisabled"):
            problems.append(f"Sales user {upn} (for {code}) is disabled in Dataverse")
        elif not user.get("systemuserroles_association"):
            problems.append(f"Sales user {upn} (for {code}) holds no security role in Dataverse")
        if person is not None and user is not None:
            couplings.append({"code": code.upper(), "displayName": person.get("displayName"),
                              "salesUser": upn, "systemUserId": str(user.get("systemuserid", "")).lower()})
    mapped = {c.upper() for c in mapping}
    unmapped = sorted(str(s.get("code")) for s in salespersons or []
                      if str(s.get("code", "")).upper() not in mapped and not s.get("blocked"))
    return couplings, problems, unmapped


def problem_text(problems: list[str]) -> str:
    return (f"{len(problems)} salesperson coupling(s) would fail in Business Central: " + "; ".join(problems)
            + " (nothing was changed: couplings are only validated)")


def unmapped_text(codes: list[str]) -> str:
    return (f"Business Central salespersons without a Sales user in bcsi:salespersons: {', '.join(codes)} "
            "(records they own will not sync)")


# ---------------------------------------------------------------------------------------------------------
# Live reads


SALESPERSON_FIELDS = ["code", "displayName", "email", "blocked"]


def read_salespersons(bc, company: dict) -> tuple[list[dict] | None, str | None]:
    """(the company's BC salespersons with the fields a coupling needs, or None; what could not be checked, or None).

    One paged request. Older Business Central: no salesperson endpoint at all (None), or a page without some of
    the fields (read without them; a missing `blocked` means blocked salespersons cannot be told apart).
    """
    try:
        rows, missing = bc.salespersons(str(company["id"]), SALESPERSON_FIELDS)
    except SalespersonsUnavailable as error:
        return None, f"salespersons not checked in Business Central: {error.message}"
    if missing:
        return rows, (f"salesperson fields {', '.join(missing)} not checked: Business Central's salesperson page "
                      f"has no such field")
    return rows, None


def read_sales_users(dataverse, upns) -> list[dict]:
    """The Sales users with these UPNs and their role ids, in In(domainname) queries of DATAVERSE_IN_CHUNK UPNs."""
    users = []
    for condition in user_filters(upns):
        users += dataverse.list("systemusers", select=["systemuserid", "domainname", "isdisabled"], filter=condition,
                                expand="systemuserroles_association($select=roleid)")
    return users


def live_state(props: dict) -> tuple[list[dict], list[str], list[str]]:
    """Read BC salespersons (one paged request after the company lookup) and the mapped Sales users; what BC
    could not tell (an older version) is logged as a warning."""
    clients = clients_for(props["connection"])
    bc_settings = props.get("businessCentral") or {}
    bc = clients.business_central(bc_settings["environment"])
    company = pick_company(bc.companies(), bc_settings.get("company"))
    mapping = dict(props.get("salespersons") or {})
    users = read_sales_users(clients.dataverse(props.get("environmentUrl")), mapping.values())
    salespersons, unchecked = read_salespersons(bc, company)
    if unchecked:
        pulumi.log.warn(unchecked)
    return evaluate(mapping, salespersons, users)


class SalespersonCouplingsProvider(dynamic.ResourceProvider):
    """Validates on check (warnings in preview), create, update and read; writes nothing anywhere."""

    serialize_as_secret_always = False

    def check(self, _olds, news):
        try:
            _, problems, unmapped = live_state(news)
        except Exception as error:  # preview stays usable when the cloud is unreachable; create reports it
            pulumi.log.warn(f"salesperson couplings not validated in preview: {error}")
            return dynamic.CheckResult(news, [])
        if problems:
            pulumi.log.warn(problem_text(problems))
        if unmapped:
            pulumi.log.warn(unmapped_text(unmapped))
        return dynamic.CheckResult(news, [])

    def diff(self, _id, olds, news):
        keys = ("salespersons", "businessCentral", "environmentUrl")
        changed = any((olds.get(k) or {}) != (news.get(k) or {}) for k in keys)
        return dynamic.DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def create(self, props):
        return dynamic.CreateResult("salesperson-couplings", self._validated(props))

    def update(self, _id, _olds, news):
        return dynamic.UpdateResult(self._validated(news))

    def read(self, id_, props):
        return dynamic.ReadResult(id_, self._validated(props))

    def delete(self, _id, _props):
        """Nothing to undo: the resource never wrote anything."""

    @staticmethod
    def _validated(props: dict) -> dict:
        couplings, problems, unmapped = live_state(props)
        if problems:
            raise CouplingError(problem_text(problems))
        return {**props, "couplings": couplings, "unmapped": unmapped}


class SalespersonCouplings(dynamic.Resource, module="bcsi", name="SalespersonCouplings"):
    """Validated salesperson couplings; `couplings` lists {code, displayName, salesUser, systemUserId}."""

    couplings: pulumi.Output[list]
    unmapped: pulumi.Output[list]

    def __init__(self, name: str, *, connection, environment_url: str, business_central: dict,
                 salespersons: dict[str, str], opts: pulumi.ResourceOptions | None = None):
        super().__init__(SalespersonCouplingsProvider(), name, {
            "connection": connection,
            "environmentUrl": environment_url,
            "businessCentral": {k: v for k, v in business_central.items() if v is not None},
            "salespersons": {code.upper(): upn.lower() for code, upn in sorted(salespersons.items())},
            "couplings": None,
            "unmapped": None,
        }, opts)
