"""availableUnits, the LicenseAssignment input the policy pack's license-units-not-exceeded rule judges at preview,
and the per-SKU usageLocation setting passed to the resource."""
import pytest
from hypothesis import given, strategies as st
from pulumi.runtime.rpc import UNKNOWN

from policies import rules
from provisioning import licenses as lic
from provisioning.settings import SettingsError, parse

SKU = {"skuId": "s", "skuPartNumber": "DYN365_ENTERPRISE_SALES", "consumedUnits": 20, "prepaidUnits": {"enabled": 25}}


def test_available_units_are_free_units_plus_what_its_own_users_hold():
    assert lic.available_units(SKU, ["a@x.com"], []) == 5
    assert lic.available_units(SKU, ["a@x.com"], ["A@x.com", "b@x.com"]) == 7       # state stands for the holders
    # live holders: only direct holders among its desired and managed users count, others' units do not
    assert lic.available_units(SKU, ["a@x.com", "c@x.com"], ["b@x.com"],
                               live_direct=["a@x.com", "b@x.com", "z@x.com"]) == 7


@given(st.sets(st.sampled_from("abcdefgh")), st.sets(st.sampled_from("abcdefgh")), st.integers(0, 10))
def test_available_units_agree_with_the_up_time_check_and_do_not_move_when_it_assigns(desired, managed, free):
    desired, managed = {f"{u}@x.com" for u in desired}, {f"{u}@x.com" for u in managed}
    live = set(managed)                       # what the last run left
    sku = {**SKU, "consumedUnits": 25 - free}
    available = lic.available_units(sku, desired, managed, live_direct=live)
    add, remove = lic.user_changes(desired, live, managed)
    fits = len(desired) <= available
    try:
        lic.check_free_units(sku, len(add), len(remove))
        assert fits
    except lic.LicenseError:
        assert not fits
    if fits:                                  # after `up`: consumption moved, availableUnits did not
        after = {**sku, "consumedUnits": sku["consumedUnits"] + len(add) - len(remove)}
        assert lic.available_units(after, desired, desired, live_direct=desired) == available
        assert lic.available_units(after, desired, desired) == available


def test_unknown_inputs_are_found_anywhere_in_a_value():
    assert lic.has_unknown({"a": [1, {"b": UNKNOWN}]})
    assert not lic.has_unknown({"a": [1, {"b": "x"}], "c": None})


def test_the_rule_blocks_more_users_than_available_units_and_names_the_sku():
    props = {"skuPartNumber": "DYN365_ENTERPRISE_SALES", "users": ["a@x.com", "b@x.com", "c@x.com"],
             "availableUnits": 2}
    [message] = rules.license_units_not_exceeded(rules.LICENSE_ASSIGNMENT, props, {})
    assert "'DYN365_ENTERPRISE_SALES' is assigned to 3 users" in message and "only 2 units are available" in message
    assert rules.license_units_not_exceeded(rules.LICENSE_ASSIGNMENT, {**props, "availableUnits": 3}, {}) == []


def config(licence: dict) -> dict:
    return {"cloud": "public", "tenantId": "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21",
            "dataverseUrl": "https://contoso.crm.dynamics.com", "solution": {"path": "s.zip"},
            "identity": {"mode": "existing", "user": {"userPrincipalName": "bc@contoso.com"}},
            "licenses": {"DYN365_ENTERPRISE_SALES": licence}}


def test_a_licence_usage_location_is_an_iso_country_code():
    settings = parse(config({"users": ["ann@contoso.com"], "usageLocation": "DK"}), "f.yaml")
    assert settings.licenses["DYN365_ENTERPRISE_SALES"].usage_location == "DK"
    assert parse(config({"users": ["ann@contoso.com"]}), "f.yaml").licenses["DYN365_ENTERPRISE_SALES"].usage_location is None
    with pytest.raises(SettingsError) as bad:
        parse(config({"users": ["ann@contoso.com"], "usageLocation": "Denmark"}), "f.yaml")
    assert bad.value.lines == ("f.yaml: bcsi:licenses.DYN365_ENTERPRISE_SALES.usageLocation: 'Denmark' is not an "
                               "ISO 3166 alpha-2 country code (allowed: an ISO 3166 two-letter country code, like US or DK)",)
