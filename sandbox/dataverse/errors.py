"""Dataverse's error codes and messages, and the exception the model raises with them.

Codes are the hex form Dataverse's Web API puts in `{"error":{"code":"0x…","message":"…"}}`. Where no
public source settled a code or text, the entry says "unconfirmed".
"""
from __future__ import annotations

from werkzeug.wrappers import Response

from sandbox.app import json_response
from solution_import.package import PackageError


class DataverseError(Exception):
    """A refusal with Dataverse's HTTP status, error code and message (never a secret in the text)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, schema: bool = False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.schema = schema  # a refusal by Microsoft's schema (counted apart, see sandbox/app.py SchemaRefusal)


NOT_A_MEMBER = "0x80072560"            # 403 "The user is not a member of the organization."
PRIVILEGE_MISSING = "0x80040220"       # 403 "Principal user (...) is missing prv... privilege"
OBJECT_DOES_NOT_EXIST = "0x80040217"   # 404 "<entity> With Id = <id> Does Not Exist"
DUPLICATE_RECORD = "0x80040237"        # 412 duplicate key
DUPLICATE_APPLICATION_USER = "0x8004F511"  # DuplicateApplicationUser (HTTP status unconfirmed: 412 as above)
DUPLICATED_JOB_ID = "0x80071152"       # DuplicatedJobId (HTTP status unconfirmed: 412 as above)
VERSION_MISMATCH = "0x80060882"        # 412 If-Match
BAD_REQUEST = "0x80060888"             # 400 OData: unknown property, segment, bad syntax
INVALID_ARGUMENT = "0x80040203"        # 400 invalid argument
USER_DISABLED = "0x8004d24b"           # 403 disabled caller (code unconfirmed)
THROTTLED_REQUESTS = "0x80072322"      # 429 request count (-2147015902)
IMPORT_ERROR = "0x80048033"            # ImportSolutionError (-2147188685)
IMPORT_MISSING_DEPENDENCIES = "0x8004801d"   # ImportMissingDependenciesError (-2147188707)
IMPORT_ROLE_ERROR = "0x80048017"       # ImportRoleError (-2147188713)
IMPORT_BAD_ZIP = "0x80048060"          # ImportCustomizationsBadZipFileError (-2147188640)
IMPORT_INVALID_XML = "0x8004802c"      # ImportInvalidXmlError (-2147188692)
SOLUTION_OPERATION_BUSY = "0x80071151"  # -2147020463: another solution operation is running
INHERITED_ROLE = "0x80044152"          # RestrictInheritedRole "Inherited roles cannot be modified."
INHERITED_ROLE_DELETE = "0x8004140c"   # "Cannot delete a role that is inherited from a parent business."
USER_NOT_IN_BUSINESS = "0x8004021d"    # invalid user id, business id, or user not in the business
INVALID_PAYLOAD = "0x80048d19"         # "Error identified in Payload provided by the user for Entity :'…'"
BATCH_LIMIT = "0x8006088a"             # more than 1000 requests in a $batch (code unconfirmed)

THROTTLE_MESSAGE = "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
_GENERIC = {404: "0x80060888", 405: "0x80060888", 500: "0x80040216"}


def not_member() -> DataverseError:
    return DataverseError(403, NOT_A_MEMBER, "The user is not a member of the organization.")


def not_found(logical_name: str, record_id: str) -> DataverseError:
    return DataverseError(404, OBJECT_DOES_NOT_EXIST, f"{logical_name} With Id = {record_id} Does Not Exist")


def duplicate(message: str = "A record with matching key values already exists.") -> DataverseError:
    return DataverseError(412, DUPLICATE_RECORD, message)


def duplicate_application_user(app_id: str) -> DataverseError:
    return DataverseError(412, DUPLICATE_APPLICATION_USER,
                          f"You are attempting to create an Application ID = {app_id} that already exists.")


def duplicated_job_id() -> DataverseError:
    return DataverseError(412, DUPLICATED_JOB_ID, "Parameter ImportJobId must be unique.")


def role_of_other_business_unit() -> DataverseError:
    """A user given a role of another business unit. Dataverse refuses it (unless record ownership across
    business units is on); which code and text it answers is unconfirmed: this is the closest documented one."""
    return DataverseError(400, USER_NOT_IN_BUSINESS, "One of the following occurred: invalid user id, invalid "
                          "business id or the user does not belong to the business.")


def version_mismatch() -> DataverseError:
    return DataverseError(412, VERSION_MISMATCH,
                          "The version of the existing record doesn't match the RowVersion property provided.")


def bad_request(message: str, code: str = BAD_REQUEST) -> DataverseError:
    return DataverseError(400, code, message)


def package_refused(error: PackageError) -> DataverseError:
    """A package Dataverse refuses before importing anything: 400 with the code for what is wrong with it."""
    code = IMPORT_BAD_ZIP if error.kind == PackageError.BAD_ZIP else IMPORT_INVALID_XML
    return bad_request(error.message, code)


def solution_operation_busy() -> DataverseError:
    """Another import runs. Code -2147020463 / 80071151 and the sentence after "--" are Microsoft's
    (https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/the-solution-installation-or-removal-failed-error-when-installing-or-removing-a-solution,
    https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/concurrent-solution-operation-failures);
    the "[Import] ... [Import]" wording is as users report it; the HTTP status of a refused sync import is unconfirmed.
    """
    return bad_request("Cannot start another [Import] because there is a previous [Import] running at this moment. "
                       "Use Solution History for more details. -- The solution installation or removal failed due "
                       "to the installation or removal of another solution at the same time. Please try again later.",
                       SOLUTION_OPERATION_BUSY)


def unknown_parameter(name: str, operation: str) -> DataverseError:
    """OData's refusal of a parameter the action does not declare (code unconfirmed)."""
    return bad_request(f"The parameter '{name}' in the request payload is not a valid parameter for the operation "
                       f"'{operation}'.")


def unknown_property(name: str, logical_name: str) -> DataverseError:
    return bad_request(f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{logical_name}'. "
                       "Make sure to only use property names that are defined by the type.")


def throttled(retry_after: int = 5) -> DataverseError:
    return DataverseError(429, THROTTLED_REQUESTS, THROTTLE_MESSAGE, {"Retry-After": str(retry_after)})


# -- the service's bodies (sandbox/app.py's Service hooks) ------------------------------------------------
def render_error(ctx, status: int, code: str, message: str) -> Response:
    """Dataverse's error body; framework codes (not 0x…) become Dataverse's generic ones ("" stays: POST WhoAmI)."""
    if code != "" and not str(code).startswith("0x"):
        code = _GENERIC.get(status, "0x80060888")
    return json_response({"error": {"code": code, "message": message}}, status, {"OData-Version": "4.0"})


def render_unauthorized(ctx, reason: str) -> Response:
    """Dataverse answers a bad token with an empty 401 and a WWW-Authenticate challenge naming the org."""
    challenge = (f"Bearer authorization_uri=https://login.microsoftonline.com/{ctx.tenant_id}/oauth2/authorize, "
                 f"resource_id={ctx.service.audience(ctx)}")
    return Response(b"", status=401, headers={"WWW-Authenticate": challenge})


def render_fault(ctx, status: int) -> Response:
    """Service protection (429) and 503 bodies as Dataverse sends them, with Retry-After."""
    if status == 429:
        response = render_error(ctx, 429, THROTTLED_REQUESTS, THROTTLE_MESSAGE)
    else:
        response = render_error(ctx, 503, "0x80040216", "The service is temporarily unavailable. Please retry.")
    response.headers["Retry-After"] = "1"
    return response
