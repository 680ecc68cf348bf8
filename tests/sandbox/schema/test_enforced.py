"""The sandbox speaks Microsoft's schema (sandbox/schema/): Graph, Dataverse and Business Central refuse an unknown
entity set, segment, property, navigation property or parameter with the service's real error, count the refusal
apart in GET {admin}/metrics (`schema_refusals`), and serve only documented properties.

The refusals here are provoked on purpose; tests/engine/test_schema_clean.py asserts the product causes none.
"""
from __future__ import annotations

import pytest

from sandbox import schema
from tests.sandbox.graph.graphkit import graph

pytestmark = pytest.mark.sandbox
refuses = pytest.mark.refuses

BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
COMPANY = "9a1b2c3d-0000-4000-8000-00000000c001"
CRLF = "\r\n"


class Session:
    """A bearer-token session on one service's base URL; relative paths are the service's."""

    def __init__(self, sandbox, base: str, scope: str):
        self.base = base.rstrip("/") + "/"
        self.session = sandbox.session()
        self.session.headers["Authorization"] = "Bearer " + sandbox.admin_token(scope)

    def __getattr__(self, method):
        return lambda path, **kw: self.session.request(method.upper(), self.base + path.lstrip("/"), **kw)


@pytest.fixture(scope="module")
def g(sandbox):
    return graph(sandbox)


@pytest.fixture(scope="module")
def dv(sandbox):
    org = sandbox.endpoints["dataverse"]
    return Session(sandbox, f"{org}/api/data/v9.2", f"{org}/.default")


@pytest.fixture(scope="module")
def bc(sandbox):
    return Session(sandbox, sandbox.endpoints["business_central"], BC_SCOPE)


def refused(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def refusals(sandbox) -> int:
    return sandbox.metrics()["schema_refusals"]


# -- Graph -----------------------------------------------------------------------------------------------------------
@refuses
def test_graph_unknown_segment_is_400(g, sandbox):
    """An unknown segment is 400 BadRequest "Resource not found for the segment 'x'." (the first unknown one).

    Sources: real responses in microsoftgraph/msgraph-beta-sdk-python#764 (400, code BadRequest, "Resource not found
    for the segment 'auditLog'.") and microsoftgraph/msgraph-sdk-powershell#3516 (400); names from msgraph-sdk's
    request builders (sandbox/schema/graph-v1.0.json).
    """
    sandbox.reset_metrics()
    error = refused(g.get("/usrs"), 400)
    assert (error["code"], error["message"]) == ("BadRequest", "Resource not found for the segment 'usrs'.")
    assert refused(g.get("/users/ann@contoso.com/licenceDetails"), 400)["message"] == \
        "Resource not found for the segment 'licenceDetails'."
    assert refusals(sandbox) == 2
    assert sandbox.metrics()["schema_refused"] == {
        "GET <unmatched>: Resource not found for the segment 'usrs'.": 1,
        "GET <unmatched>: Resource not found for the segment 'licenceDetails'.": 1}


def test_graph_path_the_sandbox_does_not_serve_is_501_not_a_refusal(g, sandbox):
    """A path Graph has (msgraph-sdk users/item/calendar) but the sandbox does not emulate: 501, never passed off
    as Microsoft's refusal."""
    sandbox.reset_metrics()
    assert refused(g.get("/users/ann@contoso.com/calendar"), 501)["code"] == "NotImplemented"
    assert refusals(sandbox) == 0


@refuses
def test_graph_unknown_property_in_select_filter_and_orderby(g, sandbox):
    """$select: 400 BadRequest "Parsing OData Select and Expand failed: Could not find a property named 'x' on type
    'microsoft.graph.user'." (the prefix as in microsoftgraph/microsoft-graph-docs-contrib#4529 and
    msgraph-beta-sdk-dotnet#563); $filter and $orderby: the same message without the prefix (unconfirmed for
    users). Names are case-sensitive: `UserPrincipalName` is not `userPrincipalName` (msgraph-sdk models/user.py).
    """
    sandbox.reset_metrics()
    error = refused(g.get("/users", params={"$select": "id,shoeSize"}), 400)
    assert (error["code"], error["message"]) == ("BadRequest", "Parsing OData Select and Expand failed: Could not "
                                                 "find a property named 'shoeSize' on type 'microsoft.graph.user'.")
    assert refused(g.get("/users", params={"$filter": "UserPrincipalName eq 'ann@contoso.com'"}), 400)["message"] == \
        "Could not find a property named 'UserPrincipalName' on type 'microsoft.graph.user'."
    assert refused(g.get("/groups", params={"$orderby": "colour"}), 400)["message"] == \
        "Could not find a property named 'colour' on type 'microsoft.graph.group'."
    assert refusals(sandbox) == 3


@refuses
def test_graph_unknown_body_property_and_action_parameter(g, sandbox):
    """PATCH /users/{id} with a property user lacks: 400 Request_BadRequest "Property 'x' does not exist as a declared
    property or extension property." (the directory's wording; unconfirmed in a Microsoft source). assignLicense with
    a parameter it lacks: 400 "The parameter 'x' in the request payload is not a valid parameter for the operation
    'assignLicense'." (OData's message; unconfirmed for Graph). Parameters: msgraph-sdk
    users/item/assign_license/assign_license_post_request_body.py (addLicenses, removeLicenses).
    """
    sandbox.reset_metrics()
    error = refused(g.patch("/users/ann@contoso.com", json={"shoeSize": 44}), 400)
    assert error["message"] == "Property 'shoeSize' does not exist as a declared property or extension property."
    error = refused(g.post("/users/ann@contoso.com/assignLicense", json={"addLicenses": [], "removeLicences": []}), 400)
    assert error["message"] == ("The parameter 'removeLicences' in the request payload is not a valid parameter for "
                                "the operation 'assignLicense'.")
    assert refusals(sandbox) == 2


@refuses
def test_graph_batch_parts_are_checked_and_counted(g, sandbox):
    """A $batch part goes through the same gate: its own 400 inside a 200 batch (concepts/json-batching.md)."""
    sandbox.reset_metrics()
    answer = g.post("/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/users?$select=shoeSize"}]})
    assert answer.status_code == 200 and answer.json()["responses"][0]["status"] == 400
    assert refusals(sandbox) == 1


# -- Dataverse -------------------------------------------------------------------------------------------------------
TROUBLESHOOT = ("https://learn.microsoft.com/troubleshoot/power-platform/dataverse/dataverse-web-api-and-sdk/"
                "web-api-client-errors")


@refuses
def test_dataverse_unknown_entity_set_function_or_action_is_404(dv, sandbox):
    """`GET Account`: 404 0x8006088a "Resource not found for the segment 'Account'." -- names are case-sensitive;
    the same for an unknown function or action. Source: TROUBLESHOOT ("Resource not found for the segment").
    """
    sandbox.reset_metrics()
    error = refused(dv.get("SystemUsers"), 404)
    assert (error["code"], error["message"]) == ("0x8006088a", "Resource not found for the segment 'SystemUsers'.")
    assert refused(dv.post("ImportSolutionAsynch", json={}), 404)["message"] == \
        "Resource not found for the segment 'ImportSolutionAsynch'."
    assert refusals(sandbox) == 2


@refuses
def test_dataverse_unknown_property_in_query_is_400(dv, sandbox):
    """`GET accounts?$select=Name`: 400 code 0x0 "Could not find a property named 'Name' on type
    'Microsoft.Dynamics.CRM.account'." Source: TROUBLESHOOT ("Could not find a property named"); also for $filter,
    $orderby and $expand. A lookup is read as `_x_value`, never by its bare name (reference/entities/role).
    """
    sandbox.reset_metrics()
    error = refused(dv.get("systemusers", params={"$select": "DomainName"}), 400)
    assert (error["code"], error["message"]) == ("0x0", "Could not find a property named 'DomainName' on type "
                                                 "'Microsoft.Dynamics.CRM.systemuser'.")
    assert refused(dv.get("roles", params={"$filter": "roletemplateid eq null"}), 400)["message"] == \
        "Could not find a property named 'roletemplateid' on type 'Microsoft.Dynamics.CRM.role'."
    assert refused(dv.get("roles", params={"$orderby": "Name"}), 400)["code"] == "0x0"
    assert refused(dv.get("systemusers", params={"$expand": "systemuserroles"}), 400)["code"] == "0x0"
    assert refusals(sandbox) == 4
    known = dv.get("systemusers", params={"$select": "domainname,jobtitle", "$top": "1"})
    assert known.status_code == 200 and known.json()["value"][0]["jobtitle"] is None   # documented, no value: null


@refuses
def test_dataverse_function_with_the_wrong_method_is_404_with_an_empty_code(dv, sandbox):
    """`POST WhoAmI`: 404, code "" (empty), "No HTTP resource was found that matches the request URI
    '[Organization URI]/api/data/v9.2/WhoAmI'." Source: TROUBLESHOOT ("No HTTP resource was found").
    """
    sandbox.reset_metrics()
    error = refused(dv.post("WhoAmI", json={}), 404)
    assert (error["code"], error["message"]) == (
        "", f"No HTTP resource was found that matches the request URI '{dv.base}WhoAmI'.")
    assert refusals(sandbox) == 1


@refuses
def test_dataverse_unknown_body_property_and_bind(dv, sandbox):
    """`POST accounts {"Name": …}`: 400 0x0 "An error occurred while validating input parameters:
    Microsoft.Crm.CrmException: Invalid property 'Name' was found in entity 'Microsoft.Dynamics.CRM.account'. --->
    Microsoft.OData.ODataException: Does not support untyped value in non-open type." A bind of an undeclared
    navigation property (`parentcustomerid@odata.bind`): 400 0x80048d19 "Error identified in Payload provided by the
    user for Entity :'contacts'  ---->  InnerException : Microsoft.OData.ODataException: An undeclared property
    'parentcustomerid' which only has property annotations in the payload but no property value was found in the
    payload. …" Source: TROUBLESHOOT (both sections). systemuser's navigation: reference/entities/systemuser.
    """
    sandbox.reset_metrics()
    error = refused(dv.post("systemusers", json={"DomainName": "x@contoso.com"}), 400)
    assert error["code"] == "0x0" and error["message"] == (
        "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property "
        "'DomainName' was found in entity 'Microsoft.Dynamics.CRM.systemuser'. ---> Microsoft.OData.ODataException: "
        "Does not support untyped value in non-open type.")
    error = refused(dv.post("systemusers", json={"businessunit@odata.bind": "/businessunits(00000000-0000-0000-0000-000000000001)"}), 400)
    assert error["code"] == "0x80048d19" and error["message"].startswith(
        "Error identified in Payload provided by the user for Entity :'systemusers'  ---->  InnerException : "
        "Microsoft.OData.ODataException: An undeclared property 'businessunit' which only has property annotations")
    assert refusals(sandbox) == 2


@refuses
def test_dataverse_unknown_action_parameter_is_400(dv, sandbox):
    """An action parameter the action lacks: 400 "The parameter 'x' in the request payload is not a valid parameter
    for the operation 'ImportSolutionAsync'." Not on TROUBLESHOOT: the message is OData's, as Dataverse users report
    it (RemoveSolutionComponent, community reports); the code 0x0 is unconfirmed. Parameters:
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/importsolutionasync
    """
    sandbox.reset_metrics()
    error = refused(dv.post("ImportSolutionAsync", json={"CustomizationFile": "", "ImportJobID": "x"}), 400)
    assert error["message"] == ("The parameter 'ImportJobID' in the request payload is not a valid parameter for "
                                "the operation 'ImportSolutionAsync'.")
    assert refusals(sandbox) == 1


def test_dataverse_batch_without_crlf_is_400(dv):
    """A $batch whose lines end with LF only: 400, its part HTTP/1.1 400 with 0x80048d19 "Error identified in
    Payload provided by the user for Entity :'accounts', For more information … ---->  InnerException :
    System.ArgumentException: Stream was not readable." Source: TROUBLESHOOT ("Stream was not readable").
    """
    body = "\n".join(["--batch_1", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
                      "GET systemusers?$select=fullname HTTP/1.1", "", "--batch_1--", ""])
    answer = dv.post("$batch", data=body, headers={"Content-Type": "multipart/mixed; boundary=batch_1"})
    assert answer.status_code == 400
    assert "HTTP/1.1 400 Bad Request" in answer.text and '"code":"0x80048d19"' in answer.text
    assert "Entity :'systemusers'" in answer.text and "Stream was not readable." in answer.text
    crlf = body.replace("\n", CRLF)
    assert dv.post("$batch", data=crlf, headers={"Content-Type": "multipart/mixed; boundary=batch_1"}).status_code == 200


# -- Business Central ------------------------------------------------------------------------------------------------
BC_ERRORS = "https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-error-codes"


@refuses
def test_bc_unknown_entity_set_is_resource_not_found(bc, sandbox):
    """An unknown entity set: code BadRequest_ResourceNotFound, "Resource not found for the segment 'x'." (BC_ERRORS,
    ODataResourceNotFoundException; the page gives no status: 404 unconfirmed). salespersonPurchasers is the analytics
    API's set, not API v2.0's (AL page 30075 EntitySetName = 'salespeoplePurchasers').
    """
    sandbox.reset_metrics()
    error = refused(bc.get(f"companies({COMPANY})/salespersonPurchasers"), 404)
    assert error["code"] == "BadRequest_ResourceNotFound"
    assert error["message"].startswith("Resource not found for the segment 'salespersonPurchasers'.  CorrelationId:")
    assert refused(bc.get("compagnies"), 404)["code"] == "BadRequest_ResourceNotFound"
    assert refusals(sandbox) == 2


@refuses
def test_bc_unknown_field_is_400(bc, sandbox):
    """An unknown field in $select, $filter or $orderby: 400 BadRequest "Could not find a property named 'x' on type
    'Microsoft.NAV.…'." (as observed in microsoft/AL#6816; status and code unconfirmed). commisionPercent is
    Microsoft's spelling (resources/dynamics_salespersonpurchaser).
    """
    sandbox.reset_metrics()
    people = f"companies({COMPANY})/salespeoplePurchasers"
    error = refused(bc.get(people, params={"$select": "code,commissionPercent"}), 400)
    assert error["code"] == "BadRequest" and error["message"].startswith(
        "Could not find a property named 'commissionPercent' on type 'Microsoft.NAV.salespersonPurchaser'.")
    assert refused(bc.get(people, params={"$filter": "eMail eq 'x'"}), 400)["code"] == "BadRequest"
    assert refused(bc.get("companies", params={"$orderby": "title"}), 400)["code"] == "BadRequest"
    assert bc.get(people, params={"$select": "code,commisionPercent"}).status_code == 200
    assert refusals(sandbox) == 3


# -- what the sandbox serves is Microsoft's ----------------------------------------------------------------------------
def served(body: dict) -> set[str]:
    """Property names of every item of a collection (annotations such as @odata.etag aside)."""
    return {key for item in body["value"] for key in item if "@" not in key}


GRAPH_COLLECTIONS = {"/users": "user", "/groups": "group", "/applications": "application",
                     "/servicePrincipals": "servicePrincipal", "/subscribedSkus": "subscribedSku",
                     "/oauth2PermissionGrants": "oAuth2PermissionGrant", "/domains": "domain",
                     "/organization": "organization"}


@pytest.mark.parametrize("path", GRAPH_COLLECTIONS)
def test_graph_serves_documented_properties(g, path):
    """Every property Graph's sandbox serves is one the SDK's model declares (msgraph-sdk models/<type>.py)."""
    type_name = GRAPH_COLLECTIONS[path]
    assert served(g.get(path).json()) - schema.graph().properties(type_name) == set()


@pytest.mark.parametrize("entity_set", ["systemusers", "roles", "businessunits", "transactioncurrencies",
                                        "solutions", "organizations"])
def test_dataverse_serves_documented_properties(dv, entity_set):
    """Every column the sandbox serves is on the table's reference page
    (https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/<table>)."""
    dataverse = schema.dataverse()
    entity = dataverse.entity_for_set(entity_set)
    assert {n for n in served(dv.get(entity_set).json()) if not dataverse.has_attribute(entity, n)} == set()


@pytest.mark.parametrize("path, entity", [("companies", "company"),
                                          (f"companies({COMPANY})/companyInformation", "companyInformation"),
                                          (f"companies({COMPANY})/salespeoplePurchasers", "salespersonPurchaser")])
def test_bc_serves_documented_fields(bc, path, entity):
    """Every field the sandbox serves is on the entity's API v2.0 page (resources/dynamics_<entity>)."""
    assert served(bc.get(path).json()) - schema.business_central().fields(entity) == set()
