"""The per-user baseline: the same licences and role sets, done the way per-user tools do them.

Terraform's `powerplatform_user` and Graph scripts model one resource per user: every licence assignment is
one `assignLicense` request, every role association one `$ref` POST, and every refresh reads each user
once in Graph and once in Dataverse. No `$batch`, no set queries: mscloud's plain get/post/list only.
Requests run 10 at a time, like `terraform apply`'s default `-parallelism=10`.
Each scenario starts a fresh client (a new tool run: its own sign-in), as a new `terraform` process would.
The per-stack work that is one object either way (solution import, application user, integration user's access
mode) runs through the same providers bcsi uses, so the two approaches differ only where per-user tools do.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from bench.cloud import SALES_SKU
from bench.stack import INTEGRATION_APP, INTEGRATION_USER, ONE_CHANGE_ROLE, stack_config
from harness.engine import ROOT
from mscloud import connect
from mscloud.cloud import sandbox_cloud
from mscloud.connection import connection
from mscloud.credentials import ClientCredential
from mscloud.odata import odata_string as odata_literal
from solution_import.package import read_package
from solution_import.role_lookup import pick_root_role, role_lookup
from solution_import.solution import IntegrationSolutionProvider
from solution_import.users import ApplicationUserProvider, IntegrationUserAccessProvider

PARALLELISM = 10


def role_sets(n: int, with_last_in_availability: bool = False) -> dict[str, list[str]]:
    """The bench stack's `bcsi:roles` with `integration` as the integration app id."""
    roles = stack_config(n, with_last_in_availability)["bcsi:roles"]
    return {role: [INTEGRATION_APP if p == "integration" else p for p in members] for role, members in roles.items()}


def licensed_users(n: int) -> list[str]:
    return list(stack_config(n)["bcsi:licenses"][SALES_SKU]["users"])


class PerUserTool:
    """One run of a per-user tool against the sandbox in `sandbox_dir`: fresh sign-in, one request per item."""

    def __init__(self, sandbox_dir):
        self.sandbox_dir = sandbox_dir
        cloud = sandbox_cloud(sandbox_dir)
        self.clients = connect(cloud, ClientCredential.from_sandbox(cloud))
        self.graph = self.clients.graph
        self.dataverse = self.clients.dataverse()

    # -- one request each ------------------------------------------------------------------------
    def read_graph_user(self, upn: str) -> dict:
        return self.graph.get(f"/users/{quote(upn, safe='@')}", params={"$select": "id,assignedLicenses"})

    def assign_license(self, upn: str, sku_id: str) -> None:
        self.graph.post(f"/users/{quote(upn, safe='@')}/assignLicense",
                        {"addLicenses": [{"skuId": sku_id, "disabledPlans": []}], "removeLicenses": []})

    def read_systemuser(self, principal: str) -> dict:
        """The systemuser and its roles (what `powerplatform_user` reads per user)."""
        field = "domainname" if "@" in principal else "applicationid"
        value = odata_literal(principal) if "@" in principal else principal
        rows = self.dataverse.list("systemusers", select=["systemuserid"], filter=f"{field} eq {value}",
                                   expand="systemuserroles_association($select=roleid)")
        return rows[0]

    def associate(self, systemuser_id: str, role_id: str) -> None:
        self.dataverse.associate("systemusers", systemuser_id, "systemuserroles_association", "roles", role_id)

    # -- lookups a per-user configuration needs once ---------------------------------------------
    def sku_id(self) -> str:
        skus = self.graph.list("/subscribedSkus")
        return next(s["skuId"] for s in skus if s["skuPartNumber"] == SALES_SKU)

    def role_ids(self, names) -> dict[str, str]:
        """Root role ids by configured name (per-user tools take role ids as input; one query finds them all)."""
        lookups = [role_lookup(name) for name in sorted(names)]
        filter_ = " or ".join(f"name eq {odata_literal(n)}" for lookup in lookups for n in lookup.names)
        rows = self.dataverse.list("roles", select=["roleid", "name", "_parentrootroleid_value"], filter=filter_)
        return {lookup.name: pick_root_role(rows, lookup)[0]["roleid"] for lookup in lookups}

    # -- scenarios ---------------------------------------------------------------------------------
    def refresh(self, users: list[str], principals: list[str]) -> dict[str, dict]:
        """One Graph read per licensed user and one Dataverse read per role holder: a per-user `refresh`/`plan`."""
        with ThreadPoolExecutor(PARALLELISM) as pool:
            list(pool.map(self.read_graph_user, users))
            rows = list(pool.map(self.read_systemuser, principals))
        return dict(zip(principals, rows))

    def fixed_setup(self) -> None:
        """Solution import, application user, integration user non-interactive: bcsi's own providers."""
        conn = connection("sandbox", sandbox_dir=self.sandbox_dir)
        package = read_package(str(ROOT / stack_config(2)["bcsi:solution"]["path"]))
        IntegrationSolutionProvider().create({
            "connection": conn, "environmentUrl": "", "packagePath": package.path, "packageSha256": package.sha256,
            "uniqueName": package.unique_name, "version": package.version, "uninstallOnDelete": False,
            "importTimeoutSeconds": 600})
        ApplicationUserProvider().create({"connection": conn, "environmentUrl": "", "appId": INTEGRATION_APP})
        IntegrationUserAccessProvider().create({"connection": conn, "environmentUrl": "",
                                                "userPrincipalName": INTEGRATION_USER, "accessMode": 4})

    def first_up(self, n: int) -> None:
        """The fixed set-up, then per user: read, assign the licence; read the systemuser, associate each role."""
        self.fixed_setup()
        sku_id = self.sku_id()
        roles = role_sets(n)
        role_ids = self.role_ids(roles)
        users = licensed_users(n)

        def license_one(upn):
            self.read_graph_user(upn)
            self.assign_license(upn, sku_id)

        def roles_for(principal):
            systemuser = self.read_systemuser(principal)
            for role, members in roles.items():
                if principal in members:
                    self.associate(systemuser["systemuserid"], role_ids[role])

        with ThreadPoolExecutor(PARALLELISM) as pool:
            list(pool.map(license_one, users))
            list(pool.map(roles_for, principals_of(roles)))

    def noop_preview(self, n: int) -> None:
        self.refresh(licensed_users(n), principals_of(role_sets(n)))

    def plan(self, n: int) -> None:
        self.refresh(licensed_users(n), principals_of(role_sets(n)))

    def one_change(self, n: int) -> None:
        """Refresh every resource (as `terraform apply` does), then one association for the one new holder."""
        roles = role_sets(n, with_last_in_availability=True)
        live = self.refresh(licensed_users(n), principals_of(roles))
        role_id = self.role_ids([ONE_CHANGE_ROLE])[ONE_CHANGE_ROLE]
        newcomer = licensed_users(n)[-1]
        held = {r["roleid"] for r in live[newcomer].get("systemuserroles_association") or []}
        if role_id not in held:
            self.associate(live[newcomer]["systemuserid"], role_id)


def principals_of(roles: dict[str, list[str]]) -> list[str]:
    """Every principal holding at least one role, each once, in a stable order."""
    return sorted({p for members in roles.values() for p in members})
