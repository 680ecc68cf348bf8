"""What each Dataverse resource waits for (provisioning/dataverse_connection.py): only the licences of its users."""
from provisioning.dataverse_connection import LicenseGate, licenses_for

SALES, SERVICE, BY_GROUP, PLAIN = object(), object(), object(), object()
GATES = [LicenseGate(SALES, frozenset({"ann@contoso.com", "bob@contoso.com"})),
         LicenseGate(SERVICE, frozenset({"bcintegration@contoso.com"}))]


def test_a_user_waits_for_the_licences_that_license_them_only():
    assert licenses_for(["Ann@Contoso.com"], GATES) == [SALES]
    assert licenses_for(["bcintegration@contoso.com", "bob@contoso.com"], GATES) == [SALES, SERVICE]


def test_unlicensed_principals_wait_for_no_licence():
    """The application user, and a role held only by it (or by users no licence names), start with the licences."""
    assert licenses_for([], GATES) == []
    assert licenses_for(["carla@contoso.com"], GATES) == []


def test_group_licences_and_plain_resources_are_waited_for_by_every_user():
    """A group's members are not known when the program runs; a resource given without a gate stays a barrier."""
    gates = [*GATES, LicenseGate(BY_GROUP, frozenset(), groups=True), PLAIN]
    assert licenses_for(["carla@contoso.com"], gates) == [BY_GROUP, PLAIN]
    assert licenses_for([], gates) == [PLAIN]   # the application user: no user, no licence
