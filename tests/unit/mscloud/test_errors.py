"""Typed errors from Graph, Dataverse and Entra bodies; never a token in their text."""
import json
import pickle

from mscloud import errors
from mscloud.tokens import auth_error_from

GRAPH_404 = {"error": {"code": "Request_ResourceNotFound",
                       "message": "Resource 'x' does not exist or one of its queried reference-property objects are not present.",
                       "innerError": {"date": "2026-01-01T00:00:00", "request-id": "rid-1", "client-request-id": "c-1"}}}


def test_graph_error_body_becomes_not_found_with_request_id():
    err = errors.error_from_response("graph", 404, {}, json.dumps(GRAPH_404).encode(), "GET", "/v1.0/users/x")
    assert isinstance(err, errors.NotFound)
    assert (err.code, err.request_id, err.status) == ("Request_ResourceNotFound", "rid-1", 404)
    assert "Request_ResourceNotFound" in str(err) and "rid-1" in str(err) and "GET /v1.0/users/x" in str(err)


def test_dataverse_error_body_and_req_id_header():
    body = {"error": {"code": "0x80040237", "message": "Cannot insert duplicate key."}}
    err = errors.error_from_response("dataverse", 409, {"REQ_ID": "dv-9"}, json.dumps(body))
    assert isinstance(err, errors.Conflict)
    assert (err.code, err.request_id) == ("0x80040237", "dv-9")
    err = errors.error_from_response("dataverse", 412, {"x-ms-service-request-id": "dv-10"}, json.dumps(body))
    assert isinstance(err, errors.PreconditionFailed) and err.request_id == "dv-10"


def test_statuses_map_to_classes():
    for status, cls in [(400, errors.BadRequest), (401, errors.Unauthorized), (403, errors.Forbidden),
                        (429, errors.Throttled), (500, errors.ServiceError)]:
        assert type(errors.error_from_response("graph", status, {}, b"")) is cls


def test_non_json_body_gives_first_line():
    err = errors.error_from_response("graph", 502, {}, b"<html>bad gateway</html>\nmore")
    assert err.message == "<html>bad gateway</html>" and err.code is None


def test_tokens_are_scrubbed_from_messages():
    token = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"
    err = errors.error_from_response("graph", 401, {}, json.dumps({"error": {"code": "InvalidAuthenticationToken",
                                                                           "message": f"bad token {token}"}}))
    assert token not in str(err) and "<redacted>" in str(err)


def test_errors_pickle_round_trip():
    err = errors.error_from_response("graph", 404, {}, json.dumps(GRAPH_404))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is errors.NotFound and str(back) == str(err)


def test_aadsts_error_is_one_clear_line_without_secret():
    result = {"error": "invalid_client",
              "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent...\r\n"
                                   "Trace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026",
              "error_codes": [7000215]}
    err = auth_error_from(result, "app-1", "https://graph.microsoft.com/.default")
    assert err.aadsts == "AADSTS7000215" and err.error == "invalid_client"
    assert "\n" not in str(err) and "Trace ID" not in str(err) and "AADSTS7000215" in str(err)


def test_aadsts_from_codes_when_description_lacks_it():
    err = auth_error_from({"error": "unauthorized_client", "error_description": "no such app",
                           "error_codes": [700016]}, "app-1", "s")
    assert err.aadsts == "AADSTS700016" and "AADSTS700016" in str(err)
