"""Wire formats as pure functions: Graph JSON $batch, Dataverse multipart $batch, OData paging, entity ids."""
import json

import pytest

from mscloud import graph, multipart
from mscloud.dataverse import entity_id_from_header, query_params
from mscloud.paging import collect, next_link


def test_graph_batch_payload_adds_content_type_and_relative_urls():
    payload = graph.batch_payload([("1", {"method": "post", "url": "users/u1/assignLicense", "body": {"a": 1}}),
                                   ("2", {"method": "GET", "url": "/users/u2"})])
    first, second = payload["requests"]
    assert first == {"id": "1", "method": "POST", "url": "/users/u1/assignLicense", "body": {"a": 1},
                     "headers": {"Content-Type": "application/json"}}
    assert second == {"id": "2", "method": "GET", "url": "/users/u2"}


def test_graph_batch_response_is_mapped_by_id():
    answer = {"responses": [{"id": "2", "status": 404, "body": {"error": {"code": "x"}}},
                            {"id": "1", "status": 429, "headers": {"Retry-After": "2"}}]}
    results = graph.parse_batch_response(answer)
    assert results["1"].status == 429 and results["1"].headers["Retry-After"] == "2"
    assert not results["2"].ok


def test_chunks_of_twenty():
    assert [len(c) for c in graph.chunks(list(range(45)), 20)] == [20, 20, 5]


def test_multipart_encode_change_set():
    content_type, body = multipart.encode_batch(
        [{"method": "POST", "url": "systemusers(1)/systemuserroles_association/$ref", "body": {"@odata.id": "r"}},
         {"method": "DELETE", "url": "systemusers(1)/systemuserroles_association(2)/$ref"}],
        "/orgs/contoso/api/data/v9.2", boundary="batch_B", changeset_boundary="changeset_C")
    assert content_type == "multipart/mixed; boundary=batch_B"
    assert body.startswith("--batch_B\r\nContent-Type: multipart/mixed; boundary=changeset_C\r\n\r\n--changeset_C\r\n")
    assert "Content-ID: 1\r\n\r\nPOST /orgs/contoso/api/data/v9.2/systemusers(1)/systemuserroles_association/$ref HTTP/1.1\r\n" in body
    assert "Content-ID: 2\r\n\r\nDELETE /orgs/contoso/api/data/v9.2/systemusers(1)/systemuserroles_association(2)/$ref HTTP/1.1" in body
    assert 'Content-Type: application/json; type=entry\r\n\r\n{"@odata.id": "r"}\r\n' in body
    assert body.endswith("--changeset_C--\r\n\r\n--batch_B--\r\n")


def test_change_set_refuses_get():
    with pytest.raises(ValueError, match="GET"):
        multipart.encode_batch([{"method": "GET", "url": "roles"}], "/api/data/v9.2")
    _, body = multipart.encode_batch([{"method": "GET", "url": "roles"}], "/api/data/v9.2", changeset=False,
                                     boundary="batch_B")
    assert body == ("--batch_B\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                    "GET /api/data/v9.2/roles HTTP/1.1\r\n\r\n--batch_B--\r\n")


RESPONSE = (
    "--batchresponse_1\r\n"
    "Content-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
    "--changesetresponse_2\r\n"
    "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
    "HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nOData-EntityId: https://x/api/data/v9.2/accounts(6e9b7b3a-0000-4000-8000-000000000001)\r\n\r\n\r\n"
    "--changesetresponse_2\r\n"
    "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; odata.metadata=minimal\r\n\r\n"
    '{"value": 1}\r\n'
    "--changesetresponse_2--\r\n"
    "--batchresponse_1\r\n"
    "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    "HTTP/1.1 404 Not Found\r\nREQ_ID: abc\r\nContent-Type: application/json\r\n\r\n"
    '{"error":{"code":"0x80040217","message":"role With Id = 2 Does Not Exist"}}\r\n'
    "--batchresponse_1--\r\n"
)


def test_multipart_decode_flattens_change_sets_in_order():
    results = multipart.decode_batch('multipart/mixed; boundary="batchresponse_1"', RESPONSE.encode())
    assert [r.status for r in results] == [204, 200, 404]
    assert entity_id_from_header(results[0].headers["OData-EntityId"]) == "6e9b7b3a-0000-4000-8000-000000000001"
    assert results[1].body == {"value": 1}
    assert results[2].body["error"]["code"] == "0x80040217" and results[2].headers["REQ_ID"] == "abc"


def test_multipart_round_trip_of_our_own_encoding():
    _, body = multipart.encode_batch([{"method": "PATCH", "url": "accounts(1)", "body": {"name": "a\r\nb"}}],
                                     "/api/data/v9.2", boundary="batch_Z", changeset_boundary="changeset_Y")
    assert body.count("--changeset_Y") == 2 and json.dumps({"name": "a\r\nb"}) in body


def test_entity_id_and_query_params():
    assert entity_id_from_header("https://o/api/data/v9.2/systemusers(AAAAAAAA-0000-4000-8000-000000000001)") == \
        "aaaaaaaa-0000-4000-8000-000000000001"
    assert entity_id_from_header(None) is None
    assert query_params(select=["a", "b"], filter="x eq 1", top=5) == {"$select": "a,b", "$filter": "x eq 1", "$top": "5"}


def test_paging_follows_next_link_and_sends_params_once():
    pages = {"first": {"value": [1, 2], "@odata.nextLink": "second"}, "second": {"value": [3], "@odata.nextLink": "third"},
             "third": {"value": []}}
    calls = []

    def fetch(url, params):
        calls.append((url, params))
        return pages[url]

    assert collect(fetch, "first", {"$select": "id"}) == [1, 2, 3]
    assert calls == [("first", {"$select": "id"}), ("second", None), ("third", None)]
    assert next_link({"@odata.nextLink": ""}) is None
