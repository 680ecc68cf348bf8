"""Business Central's error bodies and the errors its API v2.0 answers with.

BC's body is `{"error": {"code", "message": "... CorrelationId:  <id>."}}`; every token problem is the same 401
`Authentication_InvalidCredentials` (see sandbox/README.md, "Business Central").
"""
from __future__ import annotations

from werkzeug.wrappers import Response

from sandbox.app import ServiceError, json_response

ODATA_HEADERS = {"OData-Version": "4.0"}
INVALID_CREDENTIALS = "Authentication_InvalidCredentials"


def render_error(ctx, status: int, code: str, message: str) -> Response:
    """BC's error body: {"error": {"code", "message": "... CorrelationId:  <id>."}}."""
    body = {"error": {"code": code, "message": f"{message}  CorrelationId:  {ctx.request_id}."}}
    return json_response(body, status, headers=dict(ODATA_HEADERS))


REJECTED = "The server has rejected the client credentials."
CHALLENGE = {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                                 'resource_id="https://api.businesscentral.dynamics.com"'}


def render_unauthorized(ctx, reason: str) -> Response:
    """BC answers every token problem (missing, expired, wrong audience, bad signature) the same way."""
    response = render_error(ctx, 401, INVALID_CREDENTIALS, REJECTED)
    response.headers.update(CHALLENGE)
    return response


def rejected_credentials() -> ServiceError:
    """A valid token BC still refuses: no API.ReadWrite.All, or an app not registered (Enabled) in BC."""
    return ServiceError(401, INVALID_CREDENTIALS, REJECTED, headers=dict(CHALLENGE))


def not_found() -> ServiceError:
    return ServiceError(404, "BadRequest_NotFound", "The specified resource was not found.")


def resource_not_found(segment: str) -> ServiceError:
    """A URL segment the environment's API does not have. Code and message: BC's "Error Codes" page
    (dev-itpro/api-reference/v1.0/dynamics_error_codes.md); the status is unconfirmed there."""
    return ServiceError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{segment}'.")


def bad_request(message: str) -> ServiceError:
    return ServiceError(400, "BadRequest", message)


def if_match_missing() -> ServiceError:
    # unconfirmed: BC's exact text when the header is missing
    return bad_request("Could not find a header 'If-Match' in the request.")


def entity_changed() -> ServiceError:
    return ServiceError(409, "Request_EntityChanged", "Another user has already changed the record.")


def duplicate_code(code: str) -> ServiceError:
    return ServiceError(400, "Internal_EntityWithSameKeyExists",
                        f"The record in table Salesperson/Purchaser already exists. Identification fields and "
                        f"values: Code='{code}'")
