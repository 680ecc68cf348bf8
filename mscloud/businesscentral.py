"""BusinessCentralClient: the BC API v2.0 of one environment (companies, companyInformation, salespeoplePurchasers).

Two answers of BC get their own error type, because what to do about them is not in BC's text:
- 401 Authentication_InvalidCredentials to a token Entra ID issued: BC accepts app-only tokens only from apps
  registered on its "Microsoft Entra Applications" page (page 9860), and no BC API lists that page
  (https://learn.microsoft.com/dynamics365/business-central/dev-itpro/administration/automation-apis-using-s2s-authentication);
- 404 BadRequest_ResourceNotFound for salespeoplePurchasers: API v2.0 has it only from BC 26.0 on.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from mscloud.errors import BadRequest, NotFound, Unauthorized
from mscloud.paging import collect

SERVICE = "business-central"
SALESPERSONS = "salespeoplePurchasers"
SALESPERSONS_SINCE = "26.0"   # page 30075 "APIV2 - Salesperson/Purchaser" first shipped with BC 26.0
REGISTRATION_PAGE = "Microsoft Entra Applications (page 9860)"
_UNKNOWN_PROPERTY = re.compile(r"Could not find a property named '([^']+)'")


class NotRegisteredInBusinessCentral(Unauthorized):
    """BC refused the toolkit's app: not on the environment's Microsoft Entra Applications page (or not Enabled,
    or without the API.ReadWrite.All app permission). The message names the page and the fix."""

    @classmethod
    def from_error(cls, error: Unauthorized, client_id: str | None, environment: str) -> "NotRegisteredInBusinessCentral":
        app = client_id or "the toolkit's app"
        message = (f"Business Central environment {environment} rejected app {app}: "
                   f"register it in Business Central on {REGISTRATION_PAGE} with State Enabled, permission sets "
                   f"that read companies and salespersons, and Grant Consent; the app also needs Business Central's "
                   f"API.ReadWrite.All application permission with admin consent")
        return cls(error.service, error.status, error.code, message, error.request_id, error.method, error.route)


class SalespersonsUnavailable(NotFound):
    """The environment's API v2.0 has no salespeoplePurchasers: Business Central before 26.0."""


class BusinessCentralClient:
    def __init__(self, http, base_url: str, scope: str, client_id: str | None = None):
        self.http = http
        self.base_url = base_url.rstrip("/")   # .../v2.0/<tenant>/<environment>/api/v2.0
        self.scope = scope
        self.client_id = client_id             # who signs in: named in NotRegisteredInBusinessCentral

    @property
    def environment(self) -> str:
        return self.base_url.rsplit("/", 3)[-3]

    def _get(self, url: str, params: dict | None = None) -> dict:
        if not url.startswith("https://"):
            url = f"{self.base_url}/{url.lstrip('/')}"
        try:
            response = self.http.request("GET", url, service=SERVICE, scope=self.scope, params=params,
                                         headers={"Accept": "application/json"})
        except Unauthorized as error:
            raise NotRegisteredInBusinessCentral.from_error(error, self.client_id, self.environment) from None
        return response.json()

    def _list(self, path: str, params: dict | None = None) -> list[dict]:
        return collect(self._get, f"{self.base_url}/{path}", params)

    def companies(self) -> list[dict]:
        return self._list("companies")

    def company_named(self, name: str) -> dict | None:
        """The company whose `name` (or displayName) matches, case-insensitively."""
        wanted = name.casefold()
        for company in self.companies():
            if wanted in (str(company.get("name", "")).casefold(), str(company.get("displayName", "")).casefold()):
                return company
        return None

    def company_information(self, company_id: str) -> dict:
        """companyInformation is a one-row collection; its `currencyCode` must match a Dataverse currency."""
        rows = self._list(f"companies({quote(company_id)})/companyInformation")
        return rows[0] if rows else {}

    def salespersons(self, company_id: str, fields: list[str] | None = None) -> tuple[list[dict], list[str]]:
        """(salespersons, the asked-for fields the page lacks), every page.

        A page without one of `fields` refuses it in $select; it is dropped and the read repeated (one request per
        missing field), so callers work with the fields that exist. BC < 26.0: SalespersonsUnavailable.
        """
        path = f"companies({quote(company_id)})/{SALESPERSONS}"
        wanted, missing = list(fields or []), []
        while True:
            try:
                params = {"$select": ",".join(wanted)} if wanted else None
                return self._list(path, params), missing
            except BadRequest as error:
                unknown = _UNKNOWN_PROPERTY.search(error.message or "")
                if not unknown or unknown.group(1) not in wanted:
                    raise
                wanted.remove(unknown.group(1))
                missing.append(unknown.group(1))
            except NotFound as error:
                if error.code != "BadRequest_ResourceNotFound":
                    raise
                raise SalespersonsUnavailable(
                    error.service, error.status, error.code,
                    f"environment {self.environment} has no {SALESPERSONS} in API v2.0 (it came with Business "
                    f"Central {SALESPERSONS_SINCE}): {error.message}", error.request_id, error.method,
                    error.route) from None
