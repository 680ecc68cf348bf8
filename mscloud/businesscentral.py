"""BusinessCentralClient: the BC API v2.0 of one environment (companies, companyInformation, salespersonPurchasers)."""
from __future__ import annotations

from urllib.parse import quote

from mscloud.paging import collect

SERVICE = "business-central"


class BusinessCentralClient:
    def __init__(self, http, base_url: str, scope: str):
        self.http = http
        self.base_url = base_url.rstrip("/")   # .../v2.0/<tenant>/<environment>/api/v2.0
        self.scope = scope

    def _get(self, url: str, params: dict | None = None) -> dict:
        if not url.startswith("https://"):
            url = f"{self.base_url}/{url.lstrip('/')}"
        response = self.http.request("GET", url, service=SERVICE, scope=self.scope, params=params,
                                     headers={"Accept": "application/json"})
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

    def salespersons(self, company_id: str, params: dict | None = None) -> list[dict]:
        """salespersonPurchasers (code, displayName, email, blocked), every page."""
        return self._list(f"companies({quote(company_id)})/salespersonPurchasers", params)
