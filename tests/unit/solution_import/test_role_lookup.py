"""One role lookup for every command: BC's fixed id, then the package's declared id, then the known names."""
from __future__ import annotations

from mscloud.wellknown import INTEGRATION_ADMINISTRATOR_ROLE_ID
from policies.rules import ROLE_ASSIGNMENT, integration_admin_only_for_integration_principal
from solution_import.role_lookup import pick_root_role, role_lookup, short_name

PACKAGE = {"Dynamics 365 Business Central Product Availability User": "E1F0C3A4-5B6D-4C7E-8F90-A1B2C3D4E5F6",
           "Dynamics 365 Business Central Integration Administrator": INTEGRATION_ADMINISTRATOR_ROLE_ID}
PAU_ID = "e1f0c3a4-5b6d-4c7e-8f90-a1b2c3d4e5f6"


def test_short_names_map_to_ids_then_real_names():
    admin = role_lookup("Integration Administrator", PACKAGE)
    assert admin.ids == (INTEGRATION_ADMINISTRATOR_ROLE_ID,)
    assert admin.names[0] == "Dynamics 365 Business Central Integration Administrator"
    pau = role_lookup("product availability user", PACKAGE)
    assert pau.name == "Product Availability User" and pau.ids == (PAU_ID,)
    assert pau.names == ("Dynamics 365 Business Central Product Availability User",
                         "Business Central Product Availability User", "Product Availability User")
    assert role_lookup("Salesperson", PACKAGE) == role_lookup("Salesperson")   # other roles: by their name only
    assert role_lookup("Salesperson").ids == ()


def test_a_display_name_means_the_same_role_as_its_short_name():
    assert short_name("Dynamics 365 Business Central Integration User") == "Integration User"
    assert short_name("Salesperson") == "Salesperson"


def test_the_root_role_is_picked_by_id_before_name_and_never_a_copy():
    rows = [
        {"roleid": "11111111-0000-0000-0000-000000000001", "name": "Product Availability User",
         "_parentrootroleid_value": "11111111-0000-0000-0000-000000000001"},        # a same-named custom role
        {"roleid": "22222222-0000-0000-0000-000000000002",
         "name": "Dynamics 365 Business Central Product Availability User",
         "_parentrootroleid_value": PAU_ID},                                         # a child unit's copy
        {"roleid": PAU_ID, "name": "Dynamics 365 Business Central Product Availability User",
         "_parentrootroleid_value": PAU_ID},
    ]
    assert pick_root_role(rows, role_lookup("Product Availability User", PACKAGE)) == (rows[2], f"by id {PAU_ID}")
    role, how = pick_root_role(rows, role_lookup("Product Availability User"))    # no package: the real name first
    assert role is rows[2] and how == "by name 'Dynamics 365 Business Central Product Availability User'"
    assert pick_root_role(rows[:2], role_lookup("Integration User"))[0] is None


def test_the_policy_pack_knows_integration_administrator_by_any_of_its_names():
    props = {"roleName": "Dynamics 365 Business Central Integration Administrator",
             "principals": [{"type": "user", "key": "ann@contoso.com"}], "integrationPrincipal": None}
    assert integration_admin_only_for_integration_principal(ROLE_ASSIGNMENT, props, {})
