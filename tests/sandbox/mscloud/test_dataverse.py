"""mscloud's DataverseClient against the sandbox: WhoAmI, paging, multipart $batch change sets, part errors."""
import pytest

from mscloud.errors import NotFound
from tests.sandboxkit import count, fresh_clients

pytestmark = pytest.mark.sandbox


def test_dataverse_whoami_paging_and_batch(cloud, admin):
    clients = fresh_clients(cloud)
    dv = clients.dataverse(cloud.dataverse_url)
    me = dv.whoami()
    assert me["UserId"] and me["BusinessUnitId"]
    roles = dv.list("roles", select=["roleid", "name"], filter=f"_businessunitid_value eq {me['BusinessUnitId']}")
    paged = dv.list("roles", select=["roleid", "name"], filter=f"_businessunitid_value eq {me['BusinessUnitId']}",
                    page_size=2)
    assert sorted(r["roleid"] for r in paged) == sorted(r["roleid"] for r in roles) and len(roles) >= 4
    salesperson = next(r["roleid"] for r in roles if r["name"] == "Salesperson")
    users = dv.list("systemusers", select=["systemuserid", "domainname"],
                    filter="domainname eq 'carla@contoso.com' or domainname eq 'dan@contoso.com'")
    carla = next(u["systemuserid"] for u in users if u["domainname"] == "carla@contoso.com")
    role_ref = {"@odata.id": dv.ref_url("roles", salesperson)}
    admin.reset_metrics()
    dv.batch([{"method": "POST", "url": f"systemusers({carla})/systemuserroles_association/$ref", "body": role_ref}])
    held = dv.get("systemusers", carla, select=["systemuserid"], expand="systemuserroles_association($select=roleid)")
    assert salesperson in [r["roleid"] for r in held["systemuserroles_association"]]
    dv.batch([{"method": "DELETE", "url": f"systemusers({carla})/systemuserroles_association({salesperson})/$ref"}])
    metrics = admin.metrics()
    assert count(metrics, "POST", "/$batch") == 2 and metrics["writes"] == 2


def test_dataverse_failed_change_set_raises_the_parts_error(cloud, admin):
    clients = fresh_clients(cloud)
    dv = clients.dataverse(cloud.dataverse_url)
    me = dv.whoami()
    missing_role = "00000000-0000-4000-8000-00000000dead"
    ops = [{"method": "POST", "url": f"systemusers({me['UserId']})/systemuserroles_association/$ref",
            "body": {"@odata.id": dv.ref_url("roles", missing_role)}}]
    with pytest.raises(NotFound) as caught:
        dv.batch(ops)
    assert caught.value.code and caught.value.code.startswith("0x")
    assert admin.metrics()["writes"] == 0


def test_dataverse_create_etag_update_and_large_batch(cloud, sandbox):
    """create -> id from OData-EntityId; If-Match guards stale writes; 1001 ops -> two $batch requests."""
    from mscloud.errors import BadRequest, PreconditionFailed
    from mscloud.replication import wait_for

    def replicated(call):
        """A new app and its service principal replicate with a delay (sandbox/README.md, "Consistency")."""
        def attempt():
            try:
                return call()
            except BadRequest:
                return None
        return wait_for(attempt, waiting="replication", cause="sandbox delay", bound=30)

    clients = fresh_clients(cloud)
    app = clients.graph.post("/applications", {"displayName": "mscloud dataverse test"})
    replicated(lambda: clients.graph.post("/servicePrincipals", {"appId": app["appId"]}))
    dv = clients.dataverse(cloud.dataverse_url)
    root = dv.list("businessunits", select=["businessunitid"], filter="_parentbusinessunitid_value eq null")[0]
    user_id = replicated(lambda: dv.create("systemusers", {
        "applicationid": app["appId"], "accessmode": 4, "isdisabled": False,
        "businessunitid@odata.bind": f"/businessunits({root['businessunitid']})"}))
    row = dv.get("systemusers", user_id, select=["systemuserid", "applicationid", "accessmode"])
    assert row["systemuserid"] == user_id and row["applicationid"] == app["appId"]
    etag = row["@odata.etag"]
    dv.update("systemusers", user_id, {"firstname": "first"}, if_match=etag)
    with pytest.raises(PreconditionFailed) as caught:
        dv.update("systemusers", user_id, {"firstname": "stale"}, if_match=etag)
    assert caught.value.code and caught.value.code.startswith("0x")
    dv.update("systemusers", user_id, {"firstname": "any"}, if_match="*")

    sandbox.reset_metrics()
    ops = [{"method": "PATCH", "url": f"systemusers({user_id})", "body": {"firstname": f"n{i}"}} for i in range(1001)]
    results = dv.batch(ops)
    assert len(results) == 1001 and all(r.ok for r in results)
    metrics = sandbox.metrics()
    assert count(metrics, "POST", "/$batch") == 2 and metrics["writes"] == 1001
    assert dv.get("systemusers", user_id, select=["firstname"])["firstname"] == "n1000"
