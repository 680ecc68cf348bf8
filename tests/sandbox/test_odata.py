"""sandbox.odata: $filter parsing and evaluation, $select, $top, $orderby, paging tokens."""
import pytest
from hypothesis import given, strategies as st

from sandbox.odata import (ODataError, Filter, decode_token, encode_token, filter_docs, order_by, paginate,
                           parse_select, parse_top, select)

USERS = [
    {"id": "1", "upn": "ann@contoso.com", "n": 3, "enabled": True, "loc": "US", "mgr": None,
     "bu": "3B0C7A8E-2F4D-4E6A-9C1B-7D5E8F2A6B40", "roles": [{"name": "Sales"}], "tags": ["a", "b"]},
    {"id": "2", "upn": "bob@contoso.com", "n": 5, "enabled": False, "loc": "DK", "mgr": "1",
     "bu": "00000000-0000-0000-0000-000000000001", "roles": [], "tags": []},
    {"id": "3", "upn": "o'neil@contoso.com", "n": 7, "enabled": True, "loc": None, "mgr": "1",
     "bu": None, "roles": [{"name": "Admin"}], "tags": ["b"]},
]


def ids(text, **options):
    return [d["id"] for d in filter_docs(USERS, text, **options)]


@pytest.mark.parametrize("text, expected", [
    ("upn eq 'ann@contoso.com'", ["1"]),
    ("upn ne 'ann@contoso.com'", ["2", "3"]),
    ("n gt 3 and n le 7", ["2", "3"]),
    ("n lt 4 or loc eq 'DK'", ["1", "2"]),
    ("not (n eq 5)", ["1", "3"]),
    ("not enabled", ["2"]),
    ("enabled eq true and mgr eq null", ["1"]),
    ("loc eq null", ["3"]),
    ("loc ne null", ["1", "2"]),
    ("startswith(upn, 'b')", ["2"]),
    ("endswith(upn, '@contoso.com')", ["1", "2", "3"]),
    ("contains(upn, 'neil')", ["3"]),
    ("upn eq 'o''neil@contoso.com'", ["3"]),
    ("loc in ('US', 'DK')", ["1", "2"]),
    ("id in ('3')", ["3"]),
    ("bu eq 3b0c7a8e-2f4d-4e6a-9c1b-7d5e8f2a6b40", ["1"]),
    ("roles/any(r: r/name eq 'Admin')", ["3"]),
    ("roles/any()", ["1", "3"]),
    ("tags/any(t: t eq 'b')", ["1", "3"]),
    ("(n eq 3 or n eq 5) and enabled eq false", ["2"]),
    ("tolower(loc) eq 'us'", ["1"]),
])
def test_filter(text, expected):
    assert ids(text) == expected


def test_case_insensitive_option():
    assert ids("upn eq 'ANN@contoso.com'") == []
    assert ids("upn eq 'ANN@contoso.com'", case_insensitive=True) == ["1"]
    assert ids("startswith(upn, 'BO')", case_insensitive=True) == ["2"]


def test_custom_resolver_and_properties():
    predicate = Filter("_parent_value eq null and name eq 'x'",
                       resolve=lambda doc, path: doc.get("parent") if path == "_parent_value" else doc.get(path))
    assert predicate({"parent": None, "name": "x"}) and not predicate({"parent": "p", "name": "x"})
    assert predicate.properties() == {"_parent_value", "name"}


@pytest.mark.parametrize("text", ["", "upn eq", "upn eq 'x", "upn eq 'x' and", "(upn eq 'x'", "frob(upn)",
                                  "upn eq 'x' extra", "loc in (upn)", "n gt #"])
def test_syntax_errors(text):
    with pytest.raises(ODataError):
        Filter(text)


def test_select_top_orderby():
    fields = parse_select("id, upn")
    assert fields == ["id", "upn"]
    assert select({"id": 1, "upn": "u", "n": 2, "@odata.etag": "e"}, fields) == {"id": 1, "upn": "u", "@odata.etag": "e"}
    assert select({"id": 1, "n": 2}, parse_select("n"), always=("id",)) == {"id": 1, "n": 2}
    assert parse_select(None) is None and parse_select("*") is None
    with pytest.raises(ODataError):
        parse_select("id,(x)")
    assert parse_top("5") == 5 and parse_top(None) is None
    for bad in ("-1", "x", "1000"):
        with pytest.raises(ODataError):
            parse_top(bad, maximum=999)
    assert [d["id"] for d in order_by(USERS, "n desc")] == ["3", "2", "1"]
    assert [d["id"] for d in order_by(USERS, "loc, n desc")] == ["3", "2", "1"]
    with pytest.raises(ODataError):
        order_by(USERS, "n sideways")


def test_paging_tokens_round_trip_and_reject_garbage():
    docs = [{"id": str(i)} for i in range(7)]
    seen, token = [], None
    while True:
        page, token = paginate(docs, 3, token)
        seen += page
        if token is None:
            break
    assert seen == docs
    assert decode_token(encode_token({"offset": 3, "q": "x"})) == {"offset": 3, "q": "x"}
    for bad in ("!!!", encode_token([1]) if False else "WzFd"):
        with pytest.raises(ODataError):
            decode_token(bad)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_string_literals_round_trip(value):
    quoted = value.replace("'", "''")
    assert Filter(f"upn eq '{quoted}'")({"upn": value})


@given(st.text(max_size=40))
def test_parser_never_crashes_with_anything_but_odata_error(text):
    try:
        Filter(text)({"a": 1})
    except ODataError:
        pass


# -- dialects: Dataverse has no `in` operator, but the query functions Microsoft.Dynamics.CRM.In / NotIn ------
from sandbox.odata import DATAVERSE  # noqa: E402


def dv_ids(text, aliases=None):
    return [d["id"] for d in filter_docs(USERS, text, case_insensitive=True, dialect=DATAVERSE, aliases=aliases)]


@pytest.mark.parametrize("text, expected", [
    ("Microsoft.Dynamics.CRM.In(PropertyName='upn',PropertyValues=['ANN@contoso.com','o''neil@contoso.com'])",
     ["1", "3"]),
    ("Microsoft.Dynamics.CRM.In(PropertyName='bu',PropertyValues=['3b0c7a8e-2f4d-4e6a-9c1b-7d5e8f2a6b40'])", ["1"]),
    ("Microsoft.Dynamics.CRM.In(PropertyName='n',PropertyValues=['3','7'])", ["1", "3"]),
    ("Microsoft.Dynamics.CRM.In(PropertyName='loc',PropertyValues=[])", []),
    ("Microsoft.Dynamics.CRM.NotIn(PropertyName='loc',PropertyValues=['US'])", ["2", "3"]),
    ("enabled eq true and Microsoft.Dynamics.CRM.In(PropertyName='loc', PropertyValues=['US','DK'])", ["1"]),
])
def test_dataverse_in_function(text, expected):
    assert dv_ids(text) == expected


def test_dataverse_in_function_with_parameter_aliases():
    text = "Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)"
    assert dv_ids(text, {"@p1": "'upn'", "@p2": "['bob@contoso.com']"}) == ["2"]
    with pytest.raises(ODataError, match="@p2"):
        Filter(text, dialect=DATAVERSE, aliases={"@p1": "'upn'"})


def test_dataverse_in_function_reads_its_property():
    predicate = Filter("Microsoft.Dynamics.CRM.In(PropertyName='domainname',PropertyValues=['a'])", dialect=DATAVERSE)
    assert predicate.properties() == {"domainname"}


def test_dataverse_rejects_the_in_operator_with_its_message():
    with pytest.raises(ODataError, match="^The method or operation is not implemented.$"):
        Filter("loc in ('US', 'DK')", dialect=DATAVERSE)


@pytest.mark.parametrize("text", [
    "Microsoft.Dynamics.CRM.In(PropertyName='loc')",
    "Microsoft.Dynamics.CRM.In(PropertyValues=['US'])",
    "Microsoft.Dynamics.CRM.In(PropertyName='loc',PropertyValues=[3b0c7a8e-2f4d-4e6a-9c1b-7d5e8f2a6b40])",
    "Microsoft.Dynamics.CRM.In(PropertyName='loc',PropertyValues=['US'],Other='x')",
    "Microsoft.Dynamics.CRM.In(PropertyName='loc',PropertyValues='US')",
    "Microsoft.Dynamics.CRM.In(PropertyName='loc',PropertyValues=['US')",
])
def test_dataverse_in_function_errors(text):
    with pytest.raises(ODataError):
        Filter(text, dialect=DATAVERSE)


def test_graph_dialect_keeps_the_in_operator_and_knows_no_dataverse_function():
    assert ids("loc in ('US', 'DK')") == ["1", "2"]
    with pytest.raises(ODataError, match="unknown function"):
        Filter("Microsoft.Dynamics.CRM.In(PropertyName='loc',PropertyValues=['US'])")


def test_equalities_are_the_eq_terms_every_match_satisfies():
    from sandbox.odata import Filter

    assert Filter("domainname eq 'a@b.c' and (isdisabled eq false or x eq 1)").equalities() == [("domainname", "a@b.c")]
    assert Filter("'X' eq name").equalities() == [("name", "X")]
    assert Filter("a eq 1 or b eq 2").equalities() == [] and Filter("a ne 1").equalities() == []
