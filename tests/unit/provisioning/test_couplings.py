"""Salesperson couplings: matching configured codes to BC salespersons and Dataverse users, pure logic."""
import pytest

from provisioning import couplings as cp

SALESPERSONS = [
    {"code": "AH", "displayName": "Annette Hill", "blocked": False},
    {"code": "BK", "displayName": "Bob Kane", "blocked": False},
    {"code": "JR", "displayName": "John Roberts", "blocked": True},
    {"code": "ZZ", "displayName": "Zoe Zed", "blocked": False},
]
USERS = [
    {"systemuserid": "A1", "domainname": "ann@contoso.com", "isdisabled": False, "systemuserroles_association": [{"roleid": "r"}]},
    {"systemuserid": "b2", "domainname": "bob@contoso.com", "isdisabled": True, "systemuserroles_association": [{"roleid": "r"}]},
    {"systemuserid": "c3", "domainname": "carla@contoso.com", "isdisabled": False, "systemuserroles_association": []},
]


def test_valid_coupling_is_output_for_the_bc_side():
    couplings, problems, unmapped = cp.evaluate({"ah": "Ann@contoso.com"}, SALESPERSONS, USERS)
    assert couplings == [{"code": "AH", "displayName": "Annette Hill", "salesUser": "ann@contoso.com", "systemUserId": "a1"}]
    assert problems == []
    assert unmapped == ["BK", "ZZ"]   # blocked JR is not worth a warning


def test_every_problem_is_named():
    mapping = {"BK": "bob@contoso.com", "JR": "carla@contoso.com", "XX": "nobody@contoso.com"}
    _, problems, _ = cp.evaluate(mapping, SALESPERSONS, USERS)
    assert problems == [
        "Sales user bob@contoso.com (for BK) is disabled in Dataverse",
        "salesperson JR (John Roberts) is blocked in Business Central",
        "Sales user carla@contoso.com (for JR) holds no security role in Dataverse",
        "salesperson XX does not exist in Business Central",
        "Sales user nobody@contoso.com (for XX) does not exist in Dataverse",
    ]
    text = cp.problem_text(problems)
    assert text.startswith("5 salesperson coupling(s) would fail") and "nothing was changed" in text


def test_user_filters_are_chunked_and_quoted():
    filters = cp.user_filters([f"u{i}@x.com" for i in range(120)] + ["o'neil@x.com"], chunk=50)
    assert len(filters) == 3
    assert filters[0].startswith(
        "Microsoft.Dynamics.CRM.In(PropertyName='domainname',PropertyValues=['o''neil@x.com','u0@x.com'")
    assert cp.user_filters([]) == []


def test_company_by_name_or_the_only_one():
    one = [{"id": "1", "name": "CRONUS USA, Inc."}]
    assert cp.pick_company(one, None)["id"] == "1"
    assert cp.pick_company(one, "cronus usa, inc.")["id"] == "1"
    with pytest.raises(cp.CouplingError, match="no company named 'X' .*CRONUS USA, Inc."):
        cp.pick_company(one, "X")
    with pytest.raises(cp.CouplingError, match="several companies"):
        cp.pick_company(one * 2, None)
