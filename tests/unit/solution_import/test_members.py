"""Set logic of role members: normalising, diffing (no I/O)."""
import pytest
from hypothesis import given, strategies as st

from solution_import.members import PrincipalError, classify, member_changes, normalise, principal

ANN = {"type": "user", "key": "ann@contoso.com"}
BOB = {"type": "user", "key": "bob@contoso.com"}
APP = {"type": "application", "key": "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"}


def test_normalise_sorts_dedupes_and_lowercases():
    got = normalise([{"type": "user", "key": "Bob@Contoso.com"}, BOB, APP, {"type": "user", "key": " ann@contoso.com "}])
    assert got == [APP, ANN, BOB]


def test_integration_key_stands_for_the_integration_principal():
    assert normalise([{"type": "user", "key": "integration"}, ANN], integration=APP) == [APP, ANN]


def test_integration_without_principal_is_a_clear_error():
    with pytest.raises(PrincipalError, match="integration principal"):
        normalise([{"type": "user", "key": "integration"}])


def test_bad_type_and_empty_key_are_rejected():
    with pytest.raises(PrincipalError, match="principal type"):
        principal("group", "x")
    with pytest.raises(PrincipalError, match="empty"):
        principal("user", " ")


def test_classify_settings_entries():
    assert classify("Ann@contoso.com") == ANN
    assert classify(APP["key"].upper()) == APP


def test_member_changes_are_order_free_and_case_insensitive():
    changes = member_changes([BOB, {"type": "user", "key": "ANN@contoso.com"}], [ANN, APP])
    assert changes.added == [APP]
    assert changes.removed == [BOB]
    assert changes.summary() == f"+{APP['key']}, -bob@contoso.com"
    assert member_changes([ANN, BOB], [BOB, ANN]).empty
    many = member_changes([], [{"type": "user", "key": f"u{i:03d}@c.com"} for i in range(500)])
    assert many.summary().endswith("and 490 more (500 added, 0 removed)")


members = st.lists(st.builds(lambda t, k: {"type": t, "key": k}, st.sampled_from(["user", "application"]),
                             st.from_regex(r"[a-z]{1,6}@c\.com", fullmatch=True)), max_size=30)


@given(members, members)
def test_applying_the_changes_gives_the_desired_set(current, desired):
    changes = member_changes(current, desired)
    have = {(p["type"], p["key"]) for p in current}
    have |= {(p["type"], p["key"]) for p in changes.added}
    have -= {(p["type"], p["key"]) for p in changes.removed}
    assert have == {(p["type"], p["key"]) for p in desired}
    assert not ({(p["type"], p["key"]) for p in changes.added} & {(p["type"], p["key"]) for p in changes.removed})

