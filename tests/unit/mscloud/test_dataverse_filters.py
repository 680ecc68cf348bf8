"""mscloud.dataverse.in_filter(s): Dataverse's documented list filter, quoted and split for the URL limit."""
from hypothesis import given, strategies as st

from mscloud.dataverse import IN_MAX_CHARS, in_filter, in_filters, odata_string
from sandbox.odata import DATAVERSE, Filter


def test_in_filter_quotes_every_value_guids_included():
    assert in_filter("domainname", ["o'neil@x.com", "ann@x.com"]) == (
        "Microsoft.Dynamics.CRM.In(PropertyName='domainname',PropertyValues=['o''neil@x.com','ann@x.com'])")
    guid = "6f960e32-a72b-e511-80d9-3863bb349780"
    assert in_filter("applicationid", [guid]).endswith(f"PropertyValues=['{guid}'])")
    assert odata_string("it's") == "'it''s'"


def test_in_filters_split_by_count_and_by_length_in_order():
    values = [f"u{i:04}@contoso.com" for i in range(1000)]
    by_count = in_filters("domainname", values, max_values=300)
    assert len(by_count) == 4 and by_count[0].count("@contoso.com") == 300
    by_length = in_filters("domainname", ["x" * 1000] * 30)
    assert all(len(f) < IN_MAX_CHARS + 200 for f in by_length) and len(by_length) == 3
    assert in_filters("domainname", []) == []


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12), max_size=20))
def test_the_sandbox_reads_back_exactly_the_values(values):
    predicate = Filter(in_filter("name", values), dialect=DATAVERSE)
    for value in values:
        assert predicate({"name": value})
    assert not predicate({"name": None})
