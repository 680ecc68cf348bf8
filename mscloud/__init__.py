"""The one client core: `connect(cloud, credential)` returns the clients every resource uses (see README.md)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # the clients' modules import requests and msal: loaded when `connect` builds them
    from mscloud.businesscentral import BusinessCentralClient
    from mscloud.cloud import Cloud
    from mscloud.credentials import ClientCredential
    from mscloud.dataverse import DataverseClient
    from mscloud.graph import GraphClient
    from mscloud.http import HttpCore
    from mscloud.tokens import TokenProvider


@dataclass
class Clients:
    """Graph, Dataverse (per org URL) and Business Central (per environment) clients sharing one HttpCore."""

    cloud: Cloud
    credential: ClientCredential
    http: HttpCore
    tokens: TokenProvider
    graph: GraphClient
    _dataverse: dict[str, DataverseClient] = field(default_factory=dict, repr=False)
    _bc: dict[str, BusinessCentralClient] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def dataverse(self, org_url: str | None = None) -> DataverseClient:
        """The client for one Dataverse org; the sandbox's org when omitted there."""
        from mscloud.dataverse import DataverseClient

        url = (org_url or self.cloud.dataverse_url or "").rstrip("/")
        if not url:
            raise ValueError("no Dataverse org URL given (bcsi:dataverseUrl)")
        with self._lock:
            if url.lower() not in self._dataverse:
                self._dataverse[url.lower()] = DataverseClient(self.http, url)
            return self._dataverse[url.lower()]

    def business_central(self, environment: str) -> BusinessCentralClient:
        """The client for one Business Central environment of the signed-in tenant."""
        from mscloud.businesscentral import BusinessCentralClient

        with self._lock:
            if environment not in self._bc:
                base = self.cloud.business_central_base(self.credential.tenant_id, environment)
                self._bc[environment] = BusinessCentralClient(self.http, base, self.cloud.bc_scope,
                                                               self.credential.client_id)
            return self._bc[environment]

    def close(self) -> None:
        self.http.close()


def connect(cloud, credential, **http_options) -> Clients:
    """Clients for `cloud`, signed in as `credential`; http_options tune the HttpCore (timeouts, retry budget)."""
    from mscloud.graph import GraphClient
    from mscloud.http import HttpCore
    from mscloud.tokens import MsalHttpClient, TokenProvider

    http = HttpCore(cloud.verify, **http_options)
    msal_http = MsalHttpClient(http.session, cloud.verify, http.timeout, http.count_sent)
    tokens = TokenProvider(credential, cloud.authority(credential.tenant_id), msal_http, public_authority=cloud.public)
    http.tokens = tokens
    graph = GraphClient(http, cloud.graph_url, cloud.graph_scope)
    return Clients(cloud=cloud, credential=credential, http=http, tokens=tokens, graph=graph)


__all__ = ["Clients", "connect"]
