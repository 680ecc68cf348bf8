"""LicenseAssignment's pure logic: SKU lookup, free units, holder sets, the member diff, error text."""
import pytest
from hypothesis import given, strategies as st

from mscloud.batchresult import BatchResult
from provisioning import licenses as lic

SALES = "1e1a282c-9c54-43a2-9310-98ef728faace"
SKU = {
    "skuId": SALES, "skuPartNumber": "DYN365_ENTERPRISE_SALES", "consumedUnits": 20,
    "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0},
    "servicePlans": [{"servicePlanId": "p1", "servicePlanName": "DYN365_ENTERPRISE_SALES"},
                     {"servicePlanId": "p2", "servicePlanName": "DYN365_CDS_DYN_APPS"}],
}


def test_find_sku_by_part_number_and_error_lists_what_the_tenant_has():
    assert lic.find_sku([SKU], "dyn365_enterprise_sales") is SKU
    with pytest.raises(lic.LicenseError, match="no subscription for SKU X .*it has: DYN365_ENTERPRISE_SALES"):
        lic.find_sku([SKU], "X")


def test_free_units_check_fails_before_anything_is_applied():
    assert lic.free_units(SKU) == 5
    lic.check_free_units(SKU, 5)
    lic.check_free_units(SKU, 7, removing=2)
    with pytest.raises(lic.LicenseError, match=r"6 user\(s\) need a licence but only 5 unit\(s\) are free.*nothing was assigned"):
        lic.check_free_units(SKU, 6)


def test_units_in_their_grace_period_count_and_suspended_or_locked_out_ones_do_not():
    """free = enabled + warning - consumed (Partner Center's SubscribedSku: "Total units ... sum of active and
    warning units", https://learn.microsoft.com/dotnet/api/microsoft.store.partnercenter.models.licenses.subscribedsku)."""
    grace = {**SKU, "prepaidUnits": {"enabled": 20, "warning": 5, "suspended": 3, "lockedOut": 2}}
    assert lic.free_units(grace) == 5
    with pytest.raises(lic.LicenseError, match=r"only 5 unit\(s\) are free \(20 enabled, 5 in their grace period, 20 consumed\)"):
        lic.check_free_units(grace, 6)


def test_disabled_plans_resolve_to_ids_and_unknown_names_are_named():
    assert lic.disabled_plan_ids(SKU, ["DYN365_CDS_DYN_APPS"]) == ["p2"]
    with pytest.raises(lic.LicenseError, match="disabledPlans NOPE not in the SKU"):
        lic.disabled_plan_ids(SKU, ["NOPE"])


def test_holders_split_direct_from_group_inherited():
    users = [
        {"userPrincipalName": "Ann@contoso.com", "assignedLicenses": [{"skuId": SALES}],
         "licenseAssignmentStates": [{"skuId": SALES, "assignedByGroup": None}]},
        {"userPrincipalName": "bob@contoso.com", "assignedLicenses": [{"skuId": SALES}],
         "licenseAssignmentStates": [{"skuId": SALES, "assignedByGroup": "g1"}]},
        {"userPrincipalName": "carla@contoso.com", "assignedLicenses": [{"skuId": SALES}]},
        {"userPrincipalName": "dan@contoso.com", "assignedLicenses": [{"skuId": "other"}]},
    ]
    assert lic.holders(users, SALES) == (["ann@contoso.com", "carla@contoso.com"], ["bob@contoso.com"])


def test_user_changes_never_remove_holders_the_resource_did_not_manage():
    add, remove = lic.user_changes(["a@x.com", "B@x.com"], ["b@x.com", "c@x.com", "d@x.com"], ["c@x.com"])
    assert add == ["a@x.com"]
    assert remove == ["c@x.com"]


@given(st.sets(st.sampled_from("abcdefgh")), st.sets(st.sampled_from("abcdefgh")))
def test_applying_the_changes_reaches_the_desired_set(desired, live):
    desired = {f"{u}@x.com" for u in desired}
    live = {f"{u}@x.com" for u in live}
    add, remove = lic.user_changes(desired, live, managed=live)
    assert (live - set(remove)) | set(add) == desired
    assert not set(add) & live and set(remove) <= live


def test_diff_is_order_and_case_free_and_replaces_on_new_sku():
    olds = {"skuPartNumber": "S", "users": ["a@x.com"], "members": ["a@x.com", "b@x.com"], "groups": [],
            "disabledPlans": []}
    same = {"skuPartNumber": "S", "users": ["B@x.com", "a@x.com"], "groups": [], "disabledPlans": []}
    assert lic.member_diff(olds, same).changes is False
    assert lic.member_diff(olds, {**same, "users": ["a@x.com"]}).changes is True   # refresh found b: drift
    assert lic.member_diff(olds, {**same, "groups": ["Sales team"]}).changes is True
    assert lic.member_diff(olds, {**same, "skuPartNumber": "T"}).replaces == ["skuPartNumber"]


def test_assign_requests_add_with_disabled_plans_or_remove():
    add = lic.assign_request(lic.user_path("ann@contoso.com"), SALES, ["p2"], True)
    assert add == {"method": "POST", "url": "/users/ann@contoso.com/assignLicense",
                   "body": {"addLicenses": [{"skuId": SALES, "disabledPlans": ["p2"]}], "removeLicenses": []}}
    assert lic.assign_request("/users/a@x.com", SALES, [], False)["body"] == {"addLicenses": [], "removeLicenses": [SALES]}


def test_failure_report_names_users_and_graphs_message_and_says_the_next_run_converges():
    bad = BatchResult(400, {"error": {"code": "Request_BadRequest",
                                      "message": "License assignment cannot be done for user with invalid usage location."}})
    assert lic.is_usage_location_failure(bad)
    text = lic.failure_report("S", {"dan@contoso.com": lic.error_message(bad), "eve@contoso.com": "gone"}, applied=3)
    assert "dan@contoso.com: License assignment cannot be done" in text
    assert "eve@contoso.com: gone" in text
    assert "3 other change(s) were applied" in text and "next run" in text
    assert "\n" not in text


def test_change_summary_names_added_and_removed_users_and_groups():
    olds = {"skuPartNumber": "S", "users": ["a@x.com"], "members": ["a@x.com", "b@x.com"], "groups": ["G1"]}
    news = {"skuPartNumber": "S", "users": ["a@x.com", "c@x.com"], "groups": ["G2"]}
    assert lic.change_summary(olds, news) == "licence S: +c@x.com, -b@x.com, +group G2, -group G1"
