"""An integration set up by hand in a running sandbox, without any stack: what `bcsi export` adopts.

Done the way an administrator's clicks reach the services, through the mscloud clients: the solution imported
(ImportSolutionAsync), the application user created in the root business unit, the three roles handed out, Sales
licences given to users directly and to a group. Shared by the export tests and the bench.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mscloud.connection import clients_for, connection
from mscloud.wellknown import INTEGRATION_ADMINISTRATOR_ROLE_ID, INTEGRATION_USER_ROLE_ID
from provisioning.licenses import LicenseWriter
from solution_import.importjob import run_import
from solution_import.package import read_package
from solution_import.roles import resolve_role

SALES_SKU = "DYN365_ENTERPRISE_SALES"
INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"     # seeded in sandbox/seeds/default.yaml
PRODUCT_AVAILABILITY_USER = "Product Availability User"


@dataclass
class HandMade:
    """What was set up: direct licence holders, licensed groups and each role's holders (app id for the app user)."""

    licensed: list[str]
    groups: list[str]
    integration_user: list[str]
    product_availability: list[str]


def set_up_by_hand(sandbox_dir: Path, package: Path, licensed: list[str], integration_user: list[str],
                   product_availability: list[str], groups: tuple[str, ...] = ()) -> HandMade:
    clients = clients_for(connection("sandbox", sandbox_dir=sandbox_dir))
    dataverse, graph = clients.dataverse(), clients.graph
    read = read_package(package)
    run_import(dataverse, package.read_bytes(), read.unique_name, read.version, timeout_seconds=120)

    root = dataverse.list("businessunits", select=["businessunitid"], filter="_parentbusinessunitid_value eq null")
    root_id = root[0]["businessunitid"]
    app_user = dataverse.create("systemusers", {
        "applicationid": INTEGRATION_APP, "accessmode": 4, "isdisabled": False,
        "businessunitid@odata.bind": f"/businessunits({root_id})"})
    users = {u["domainname"]: (u["systemuserid"], u["_businessunitid_value"])
             for u in dataverse.list("systemusers", select=["systemuserid", "domainname", "_businessunitid_value"])
             if u.get("domainname")}
    users[INTEGRATION_APP] = (app_user, root_id)
    holders = {INTEGRATION_ADMINISTRATOR_ROLE_ID: [INTEGRATION_APP],
               INTEGRATION_USER_ROLE_ID: [INTEGRATION_APP, *integration_user],
               resolve_role(dataverse, PRODUCT_AVAILABILITY_USER, None): product_availability}
    ops = []
    for role_id, members in holders.items():   # each holder gets the copy of the role in its own business unit
        copies = {c["_businessunitid_value"]: c["roleid"] for c in dataverse.list(
            "roles", select=["roleid", "_businessunitid_value"], filter=f"_parentrootroleid_value eq {role_id}")}
        copies.setdefault(root_id, role_id)
        ops += [{"method": "POST", "url": f"systemusers({users[m][0]})/systemuserroles_association/$ref",
                 "body": {"@odata.id": dataverse.ref_url("roles", copies[users[m][1]])}} for m in members]
    dataverse.batch(ops, changeset=True)

    sku_id = next(s["skuId"] for s in graph.list("/subscribedSkus") if s["skuPartNumber"] == SALES_SKU)
    add = {"addLicenses": [{"skuId": sku_id, "disabledPlans": []}], "removeLicenses": []}
    graph.batch([{"method": "POST", "url": f"/users/{u}/assignLicense", "body": add} for u in licensed])
    licensed_groups = {}
    for name in groups:
        licensed_groups[name] = group = graph.list("/groups", params={"$filter": f"displayName eq '{name}'"})[0]
        graph.post(f"/groups/{group['id']}/assignLicense", add)
    if groups:   # a setup done by hand has settled: group licensing has reached the members
        LicenseWriter(clients, SALES_SKU).inherited_after(sku_id, licensed_groups, list(groups))
    return HandMade(sorted(licensed), sorted(groups), sorted(integration_user), sorted(product_availability))
