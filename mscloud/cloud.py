"""Endpoints as data: which authority, Graph and Dataverse hosts a stack talks to.

Resource code never hard-codes a Microsoft host; it asks the stack's Cloud. The sandbox is one more
cloud, read from the endpoints.json the running sandbox writes (README.md, *The sandbox*).

The national clouds follow Microsoft's tables: Graph and Entra ID hosts from
https://learn.microsoft.com/graph/deployments, Dataverse hosts of US Government from
https://learn.microsoft.com/power-platform/admin/microsoft-dynamics-365-government. US Government has three
offerings: GCC uses the worldwide Entra ID and Graph (cloud `public`; its Dataverse URLs are *.crm9.dynamics.com),
GCC High is `usgov` (Graph L4) and DoD is `usgov-dod` (Graph L5). Business Central is offered in none of them, nor
in China (no host is documented): those clouds have no BC endpoint.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

GRAPH_AUDIENCE = "https://graph.microsoft.com"


class CloudError(ValueError):
    """An unknown cloud name or an unreadable sandbox endpoints file."""


@dataclass(frozen=True)
class Cloud:
    name: str
    authority_host: str          # https://login.microsoftonline.com
    graph_url: str               # https://graph.microsoft.com/v1.0 (API root, version included)
    graph_scope: str             # https://graph.microsoft.com/.default
    dataverse_suffix: str        # .crm.dynamics.com (org URLs end with it)
    bc_api: str | None           # https://api.businesscentral.dynamics.com/v2.0 (None: not offered)
    bc_scope: str | None = None  # https://api.businesscentral.dynamics.com/.default
    azuread_environment: str | None = None  # pulumi-azuread's provider `environment` (None: its default, global)
    ca_file: str | None = None   # a private CA to trust (sandbox); None: the system bundle
    public: bool = True          # msal knows the authority host (instance discovery allowed)
    # sandbox only: what endpoints.json tells besides the hosts
    tenant_id: str | None = None
    dataverse_url: str | None = None
    business_central_url: str | None = None
    admin_url: str | None = None
    sandbox_client: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def verify(self) -> str | bool:
        """What to pass as requests' `verify=` on every call (never False)."""
        return self.ca_file or True

    def authority(self, tenant_id: str) -> str:
        return f"{self.authority_host.rstrip('/')}/{tenant_id}"

    @staticmethod
    def dataverse_scope(org_url: str) -> str:
        """A Dataverse org URL is its own token audience."""
        return f"{org_url.rstrip('/')}/.default"

    def business_central_base(self, tenant_id: str, environment: str) -> str:
        if not self.bc_api:
            raise CloudError(f"Business Central has no API endpoint in cloud {self.name!r}")
        return f"{self.bc_api.rstrip('/')}/{tenant_id}/{environment}/api/v2.0"


def _microsoft_cloud(name: str, login_host: str, graph_host: str, dataverse_suffix: str,
                     bc_host: str | None, azuread_environment: str) -> Cloud:
    """A national cloud from its hosts: API roots and `.default` scopes follow one rule in every cloud."""
    return Cloud(
        name=name,
        authority_host=f"https://{login_host}",
        graph_url=f"https://{graph_host}/v1.0",
        graph_scope=f"https://{graph_host}/.default",
        dataverse_suffix=dataverse_suffix,
        bc_api=f"https://{bc_host}/v2.0" if bc_host else None,
        bc_scope=f"https://{bc_host}/.default" if bc_host else None,
        azuread_environment=azuread_environment,
    )


CLOUDS = {
    # worldwide, and US Government GCC (worldwide Entra ID and Graph; Dataverse orgs *.crm9.dynamics.com)
    "public": _microsoft_cloud("public", "login.microsoftonline.com", "graph.microsoft.com", ".crm.dynamics.com",
                               "api.businesscentral.dynamics.com", "public"),
    # US Government GCC High (Graph L4)
    "usgov": _microsoft_cloud("usgov", "login.microsoftonline.us", "graph.microsoft.us", ".crm.microsoftdynamics.us",
                              None, "usgovernment"),
    # US Government DoD (Graph L5); Dataverse *.crm.appsplatform.us is in Microsoft's discovery tooling, not on Learn
    "usgov-dod": _microsoft_cloud("usgov-dod", "login.microsoftonline.us", "dod-graph.microsoft.us",
                                  ".crm.appsplatform.us", None, "dod"),
    # China (21Vianet)
    "china": _microsoft_cloud("china", "login.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn", ".crm.dynamics.cn",
                              None, "china"),
}


def offers_business_central(name: str) -> bool:
    """Whether cloud `name` has a Business Central API (the sandbox serves one)."""
    return name == "sandbox" or bool(CLOUDS.get(name) and CLOUDS[name].bc_api)


def cloud_named(name: str) -> Cloud:
    """A public cloud by name; `sandbox` needs sandbox_cloud(dir) instead."""
    try:
        return CLOUDS[name]
    except KeyError:
        raise CloudError(f"unknown cloud {name!r} (allowed: {', '.join(sorted(CLOUDS))}, sandbox)") from None


def cloud_from_endpoints(endpoints: dict, base_dir: Path | None = None) -> Cloud:
    """The sandbox Cloud from the endpoints.json object the running sandbox writes."""
    try:
        authority = endpoints["authority"].rstrip("/")
        tenant_id = endpoints["tenant_id"]
        bc_url = endpoints.get("business_central")
        ca_file = endpoints.get("ca_file")
        if ca_file and base_dir is not None and not Path(ca_file).is_absolute():
            ca_file = str((base_dir / ca_file).resolve())
        bc_api = None
        if bc_url:  # https://HOST/bc/v2.0/<tenant>/<environment>/api/v2.0 -> https://HOST/bc/v2.0
            marker = f"/{tenant_id}/"
            bc_api = bc_url.split(marker, 1)[0] if marker in bc_url else None
        return Cloud(
            name="sandbox",
            authority_host=authority.rsplit("/", 1)[0],
            graph_url=endpoints["graph"].rstrip("/"),
            graph_scope=f"{GRAPH_AUDIENCE}/.default",
            dataverse_suffix="",
            bc_api=bc_api,
            bc_scope=CLOUDS["public"].bc_scope,   # the sandbox checks the public audiences (unconfirmed for BC)
            ca_file=ca_file,
            public=False,
            tenant_id=tenant_id,
            dataverse_url=endpoints.get("dataverse"),
            business_central_url=bc_url,
            admin_url=endpoints.get("admin"),
            sandbox_client=(endpoints["client_id"], endpoints["client_secret"]) if endpoints.get("client_id") else None,
        )
    except (KeyError, AttributeError, TypeError) as exc:
        raise CloudError(f"sandbox endpoints.json is missing or malformed ({exc})") from None


def sandbox_cloud(sandbox_dir: str | Path = ".sandbox") -> Cloud:
    """The running sandbox's Cloud, read from DIR/endpoints.json."""
    path = Path(sandbox_dir) / "endpoints.json"
    try:
        endpoints = json.loads(path.read_text())
    except FileNotFoundError:
        raise CloudError(f"{path}: not found; start the sandbox (`make sandbox`) or set BCSI_SANDBOX_DIR") from None
    except ValueError as exc:
        raise CloudError(f"{path}: not valid JSON ({exc})") from None
    return cloud_from_endpoints(endpoints, Path(sandbox_dir))


__all__ = ["Cloud", "CloudError", "CLOUDS", "cloud_named", "offers_business_central", "sandbox_cloud", "cloud_from_endpoints"]
