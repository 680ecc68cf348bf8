"""The Dataverse Web API v9.2 wire layer: URLs, headers, JSON shapes; rules live in models.py."""
from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote

from werkzeug.wrappers import Response

from sandbox import schema
from sandbox.app import Route, SchemaRefusal, ServiceError, json_response

from . import errors
from .errors import DataverseError
from .metadata import BY_LOGICAL, BY_SET, TABLES
from .models import OrgModel, normalize_guid, parse_entity_reference, public
from .query import check_select, collection, parse_expand, parse_prefer, shape
from .solution_imports import SolutionImports
from .user_sync import UserSync

API = "/orgs/<org>/api/data/v9.2"
READ_PRIVILEGE = {"systemusers": "prvReadUser", "roles": "prvReadRole"}
ODATA_HEADERS = {"OData-Version": "4.0"}


def org_url(ctx) -> str:
    return f"{ctx.base_url}/orgs/{ctx.url_vars['org']}"


def api_url(ctx) -> str:
    return f"{org_url(ctx)}/api/data/v9.2"


def model_for(ctx) -> OrgModel:
    model = OrgModel(ctx.store, ctx.url_vars["org"], count_write=ctx.count_write)
    if not model.exists():
        raise ServiceError(404, errors.BAD_REQUEST, f"The organization '{ctx.url_vars['org']}' does not exist.")
    SolutionImports(model).advance()
    UserSync(model).advance()
    return model


def caller_of(ctx, model: OrgModel):
    claims = ctx.claims or {}
    return model.caller(claims.get("appid") or claims.get("azp"))


def guarded(handler):
    """Model errors become the service's error body (with their headers)."""
    def run(ctx, **url_vars):
        try:
            return handler(ctx, **url_vars)
        except DataverseError as error:
            kind = SchemaRefusal if error.schema else ServiceError
            raise kind(error.status, error.code, error.message, error.headers) from None
    run.__name__ = handler.__name__
    return run


def json_body(ctx) -> dict:
    data = ctx.request.get_data()
    if not data:
        return {}
    try:
        body = json.loads(data)
    except ValueError:
        raise errors.bad_request("Error identified in Payload provided by the user for Entity :'', For more "
                                 "information on this error please follow this help link "
                                 "https://go.microsoft.com/fwlink/?linkid=2195293") from None
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object.")
    return body


def answer(body, status: int = 200, headers: dict | None = None) -> Response:
    merged = dict(ODATA_HEADERS)
    merged.update(headers or {})
    if body is None:
        return Response(b"", status=status, headers=merged)
    return json_response(body, status, merged)


def table_of(entity_set: str):
    """The served table; an entity set Dataverse has but the sandbox does not serve is 501 (unknown ones never get
    here: schema_gate refuses them)."""
    table = BY_SET.get(entity_set)
    if table is None:
        raise DataverseError(501, errors.BAD_REQUEST, f"The sandbox does not serve the entity set '{entity_set}'.")
    return table


def check_read(model: OrgModel, caller, entity_set: str) -> None:
    if entity_set in READ_PRIVILEGE:
        model.require_system_administrator(caller, READ_PRIVILEGE[entity_set], BY_SET[entity_set].logical_name)


def view(model: OrgModel, entity_set: str, doc: dict) -> dict:
    if entity_set == "asyncoperations":
        return SolutionImports(model).view_async(doc)
    if entity_set == "importjobs":
        return SolutionImports(model).view_job(doc)
    return doc


def preference_headers(applied: list[str]) -> dict:
    return {"Preference-Applied": ",".join(applied)} if applied else {}


# ---- handlers -------------------------------------------------------------------------------------
@guarded
def who_am_i(ctx, org):
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    return answer({"@odata.context": f"{api_url(ctx)}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                   "BusinessUnitId": caller.user["_businessunitid_value"], "UserId": caller.id,
                   "OrganizationId": model.organization()["organizationid"]})


@guarded
def entity_definitions(ctx, org, key=None):
    model = model_for(ctx)
    caller_of(ctx, model)
    definitions = [table.definition() for table in TABLES]
    if key is not None:
        name, _, value = key.partition("=")
        if value:
            if name.strip() != "LogicalName":
                raise errors.bad_request(f"Invalid key for EntityDefinitions: '{key}'.")
            found = BY_LOGICAL.get(value.strip().strip("'"))
        else:
            found = next((t for t in TABLES if t.metadata_id == normalize_guid(key)), None)
        if found is None:
            raise DataverseError(404, "0x80040217", f"Could not find entity with name '{key}'.")
        definition = found.definition()
        fields = [f.strip() for f in (ctx.request.args.get("$select") or "").split(",") if f.strip()]
        if fields:
            definition = {k: v for k, v in definition.items() if k in fields or k == "MetadataId"}
        return answer({"@odata.context": f"{api_url(ctx)}/$metadata#EntityDefinitions/$entity", **definition})
    from sandbox import odata
    try:
        docs = odata.filter_docs(definitions, ctx.request.args.get("$filter"))
        fields = odata.parse_select(ctx.request.args.get("$select"))
    except odata.ODataError as error:
        raise errors.bad_request(str(error)) from None
    value = [odata.select(d, fields, always=("MetadataId",)) for d in docs]
    return answer({"@odata.context": f"{api_url(ctx)}/$metadata#EntityDefinitions", "value": value})


@guarded
def list_records(ctx, org, entityset):
    if entityset.rstrip("()") == "WhoAmI":
        return who_am_i(ctx, org=org)
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    table = table_of(entityset)
    check_read(model, caller, entityset)
    docs = [view(model, entityset, doc) for doc in model.stored(entityset)]
    prefer = parse_prefer(ctx.request.headers.get("Prefer"))
    body, applied = collection(model, table, docs, ctx.request.args, prefer, f"{api_url(ctx)}/{entityset}",
                               f"{api_url(ctx)}/$metadata#{entityset}", whole_table=True)
    return answer(body, headers=preference_headers(applied))


def _record_answer(ctx, model, table, doc, status=200):
    prefer = parse_prefer(ctx.request.headers.get("Prefer"))
    from sandbox import odata
    try:
        fields = odata.parse_select(ctx.request.args.get("$select"))
    except odata.ODataError as error:
        raise errors.bad_request(str(error)) from None
    check_select(table, fields)
    expand = parse_expand(table, ctx.request.args.get("$expand"))
    annotations = "odata.include-annotations" in prefer
    body = {"@odata.context": f"{api_url(ctx)}/$metadata#{table.entity_set}/$entity",
            **shape(model, table, doc, fields, annotations, expand)}
    headers = {"ETag": body["@odata.etag"]}
    if annotations:
        headers["Preference-Applied"] = f'odata.include-annotations="{prefer["odata.include-annotations"]}"'
    return answer(body, status, headers)


@guarded
def get_record(ctx, org, entityset, key):
    if entityset == "EntityDefinitions":
        return entity_definitions(ctx, org=org, key=key)
    if entityset == "RetrieveSolutionImportResult":
        return retrieve_import_result(ctx, org, key)
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    table = table_of(entityset)
    check_read(model, caller, entityset)
    doc = view(model, entityset, model.get(entityset, key))
    if_none_match = ctx.request.headers.get("If-None-Match")
    if if_none_match and if_none_match == model.etag(entityset, doc[table.primary_id]):
        return Response(b"", status=304, headers=ODATA_HEADERS)
    return _record_answer(ctx, model, table, doc)


def retrieve_import_result(ctx, org, key):
    model = model_for(ctx)
    caller_of(ctx, model)
    name, _, value = key.partition("=")
    if name.strip() != "ImportJobId":
        raise errors.bad_request("RetrieveSolutionImportResult needs ImportJobId.", errors.INVALID_ARGUMENT)
    if value.strip().startswith("@"):
        value = ctx.request.args.get(value.strip(), "")
    result = SolutionImports(model).import_result(value.strip().strip("'"))
    return answer({"@odata.context": f"{api_url(ctx)}/$metadata#Microsoft.Dynamics.CRM.RetrieveSolutionImportResultResponse",
                   **result})


@guarded
def create_record(ctx, org, entityset):
    if entityset == "$batch":
        from .batch import run_batch
        return run_batch(ctx, org)
    if entityset in ACTIONS:
        return ACTIONS[entityset](ctx, org)
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    table = table_of(entityset)
    if not table.writable:
        raise DataverseError(405, errors.BAD_REQUEST, f"The '{entityset}' entity set cannot be written through this "
                             "service.")  # the sandbox serves these read-only
    doc = model.create(caller, entityset, json_body(ctx))
    return _written(ctx, model, table, doc, created=True)


def _written(ctx, model, table, doc, created: bool):
    entity_id = f"{api_url(ctx)}/{table.entity_set}({doc[table.primary_id]})"
    prefer = parse_prefer(ctx.request.headers.get("Prefer"))
    headers = {"OData-EntityId": entity_id}
    if prefer.get("return") == "representation":
        response = _record_answer(ctx, model, table, doc, status=201 if created else 200)
        response.headers.update(headers)
        response.headers["Preference-Applied"] = "return=representation"
        return response
    return answer(None, 204, headers)


@guarded
def update_record(ctx, org, entityset, key):
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    table = table_of(entityset)
    if not table.writable:
        raise DataverseError(405, errors.BAD_REQUEST, f"The '{entityset}' entity set cannot be written through this "
                             "service.")
    record_id = normalize_guid(key)
    if_match = ctx.request.headers.get("If-Match")
    if_none_match = ctx.request.headers.get("If-None-Match")
    exists = model.has(entityset, record_id)
    body = json_body(ctx)
    if exists and if_none_match == "*":
        raise errors.duplicate()
    if not exists:
        if if_match:  # If-Match: * (or an etag) forbids the upsert's create
            raise errors.not_found(table.logical_name, record_id)
        doc = model.create(caller, entityset, body, record_id=record_id)
        return _written(ctx, model, table, doc, created=True)
    doc = model.update(caller, entityset, record_id, body, if_match)
    return _written(ctx, model, table, doc, created=False)


@guarded
def delete_record(ctx, org, entityset, key):
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    table = table_of(entityset)
    if (not table.writable and entityset != "solutions") or entityset == "businessunits":
        raise DataverseError(405, errors.BAD_REQUEST, f"The '{entityset}' entity set cannot be written through this "
                             "service.")
    model.delete(caller, entityset, key, ctx.request.headers.get("If-Match"))
    return answer(None, 204)


def _association(entityset: str, nav: str):
    table = table_of(entityset)
    if nav not in table.collections:
        raise errors.bad_request(f"Could not find a property named '{nav}' on type "
                                 f"'Microsoft.Dynamics.CRM.{table.logical_name}'.")
    return table


@guarded
def list_related(ctx, org, entityset, key, nav):
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    table = _association(entityset, nav)
    target = BY_SET[table.collections[nav]]
    check_read(model, caller, entityset)
    check_read(model, caller, target.entity_set)
    doc = model.get(entityset, key)
    related = model.related(entityset, doc[table.primary_id], nav)
    prefer = parse_prefer(ctx.request.headers.get("Prefer"))
    body, applied = collection(model, target, related, ctx.request.args, prefer,
                               f"{api_url(ctx)}/{entityset}({doc[table.primary_id]})/{nav}",
                               f"{api_url(ctx)}/$metadata#{target.entity_set}")
    return answer(body, headers=preference_headers(applied))


@guarded
def associate(ctx, org, entityset, key, nav):
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    table = _association(entityset, nav)
    reference = json_body(ctx).get("@odata.id")
    if not reference:
        raise errors.bad_request("The payload must contain '@odata.id'.")
    target_set, target_id = parse_entity_reference(reference)
    if target_set != table.collections[nav]:
        raise errors.bad_request(f"The entity reference '{reference}' does not point to {table.collections[nav]}.")
    model.associate(caller, entityset, key, nav, target_id)
    return answer(None, 204)


@guarded
def disassociate(ctx, org, entityset, key, nav, target):
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    _association(entityset, nav)
    model.disassociate(caller, entityset, key, nav, target)
    return answer(None, 204)


def _import(ctx, org, action: str, asynchronous: bool = True, upgrade: bool = False):
    model = model_for(ctx)
    caller = caller_of(ctx, model)
    body = json_body(ctx)
    declared = schema.dataverse().operation(action)["parameters"]
    for name in body:
        if name not in declared:     # e.g. HoldingSolution or LayerDesiredOrder on StageAndUpgradeAsync
            raise errors.unknown_parameter(name, action)
    encoded = body.get("CustomizationFile")
    if not encoded:
        raise errors.bad_request("CustomizationFile is required for solution import.", errors.IMPORT_ERROR)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise errors.bad_request("Cannot convert the literal to the expected type 'Edm.Binary'.") from None
    job_id, operation_id = SolutionImports(model).import_solution(caller, data, body.get("ImportJobId"),
                                                                  asynchronous, upgrade)
    if not asynchronous:
        return answer(None, 204)
    return answer({"@odata.context": f"{api_url(ctx)}/$metadata#Microsoft.Dynamics.CRM.{action}Response",
                   "AsyncOperationId": operation_id, "ImportJobKey": job_id})


@guarded
def import_solution(ctx, org):
    return _import(ctx, org, "ImportSolution", asynchronous=False)


@guarded
def import_solution_async(ctx, org):
    return _import(ctx, org, "ImportSolutionAsync")


@guarded
def stage_and_upgrade_async(ctx, org):
    """StageAndUpgradeAsync: import, stage and apply the upgrade; dropped components are deleted."""
    return _import(ctx, org, "StageAndUpgradeAsync", upgrade=True)


ACTIONS = {"ImportSolution": import_solution, "ImportSolutionAsync": import_solution_async,
           "StageAndUpgradeAsync": stage_and_upgrade_async}


def routes() -> list[Route]:
    from .batch import run_batch
    return [
        Route("GET", f"{API}/WhoAmI", who_am_i),
        Route("GET", f"{API}/WhoAmI()", who_am_i),
        Route("GET", f"{API}/EntityDefinitions", entity_definitions),
        Route("POST", f"{API}/$batch", guarded(run_batch)),
        Route("POST", f"{API}/ImportSolution", import_solution, write=True),
        Route("POST", f"{API}/ImportSolutionAsync", import_solution_async, write=True),
        Route("POST", f"{API}/StageAndUpgradeAsync", stage_and_upgrade_async, write=True),
        Route("GET", f"{API}/<entityset>", list_records),
        Route("POST", f"{API}/<entityset>", create_record, write=True),
        Route("GET", f"{API}/<entityset>(<key>)", get_record),
        Route("PATCH", f"{API}/<entityset>(<key>)", update_record, write=True),
        Route("DELETE", f"{API}/<entityset>(<key>)", delete_record, write=True),
        Route("GET", f"{API}/<entityset>(<key>)/<nav>", list_related),
        Route("POST", f"{API}/<entityset>(<key>)/<nav>/$ref", associate, write=True),
        Route("DELETE", f"{API}/<entityset>(<key>)/<nav>(<target>)/$ref", disassociate, write=True),
    ]
