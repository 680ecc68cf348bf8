"""Business Central API v2.0 wire layer: `/bc/v2.0/<tenant>/<environment>/api/v2.0/...` in BC's OData JSON.

Stands in for `https://api.businesscentral.dynamics.com/v2.0/<tenant>/<environment>/api/v2.0`. Tokens need
audience https://api.businesscentral.dynamics.com, the app role API.ReadWrite.All on the BC service principal,
and an app registered (Enabled) on the environment's "Microsoft Entra Applications" page; without them BC rejects
the client credentials.
"""
from __future__ import annotations

import re

from werkzeug.wrappers import Response

from sandbox import odata
from sandbox import seed as seeding
from sandbox.app import ServiceError, json_response, Route
from sandbox.bc import errors, models
from sandbox.bc.errors import ODATA_HEADERS

PREFIX = "/bc/v2.0/<tenant>/<environment>/api/v2.0"
REQUIRED_ROLES = {"API.ReadWrite.All"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


def _check_call(ctx, tenant: str, environment: str) -> None:
    if not REQUIRED_ROLES & set((ctx.claims or {}).get("roles") or []):
        raise errors.rejected_credentials()
    doc = seeding.tenant(ctx.store)
    if tenant.lower() not in {doc["id"], *(d.lower() for d in doc.get("domains", []))}:
        raise ServiceError(404, "BadRequest_NotFound", f"The tenant '{tenant}' was not found.")
    if not models.environment_exists(ctx.store, environment):
        # unconfirmed: the exact code BC uses for an unknown environment name
        raise ServiceError(404, "NoEnvironment", f"The environment '{environment}' does not exist.")
    if not models.application_registered(ctx.store, environment, (ctx.claims or {}).get("appid")):
        raise errors.rejected_credentials()


def _check_salesperson_call(ctx, tenant: str, environment: str) -> None:
    """As _check_call; and BC < 26.0 has no salespeoplePurchasers in API v2.0: the segment is unknown there."""
    _check_call(ctx, tenant, environment)
    if not models.serves_salespersons(ctx.store, environment):
        raise errors.resource_not_found(models.SALESPERSONS)


def _company(ctx, environment: str, company_id: str) -> dict:
    key = company_id.strip("'")
    if not _GUID.match(key):
        raise ServiceError(400, "BadRequest", f"Invalid key value '{company_id}' for the 'id' key property.")
    company = models.company(ctx.store, environment, key)
    if company is None:
        raise errors.not_found()
    return company


def _context(ctx, tenant: str, environment: str, fragment: str) -> str:
    return f"{ctx.base_url}/bc/v2.0/{tenant}/{environment}/api/v2.0/$metadata#{fragment}"


def _shape(ctx, environment: str, entity: str, doc: dict, hidden=("companyId",)) -> dict:
    shown = {"@odata.etag": models.etag(ctx.store, environment, entity, doc["id"])}
    page = models.salesperson_fields(ctx.store, environment) if entity == models.SALESPERSONS else None
    shown.update({k: v for k, v in doc.items() if k not in hidden and (page is None or k in page)})
    return shown


def _collection(ctx, docs: list[dict], context: str) -> Response:
    """$filter, $orderby, $skip, $top, $select over `docs`, as an OData collection."""
    args = ctx.request.args
    unknown = [k for k in args if k.startswith("$") and k not in ("$filter", "$select", "$top", "$skip", "$orderby")]
    if unknown:
        raise ServiceError(400, "BadRequest", f"The query parameter '{unknown[0]}' is not supported.")
    try:
        docs = odata.filter_docs(docs, args.get("$filter"), case_insensitive=True)
        docs = odata.order_by(docs, args.get("$orderby"))
        skip = odata.parse_top(args.get("$skip")) or 0
        top = odata.parse_top(args.get("$top"))
        fields = odata.parse_select(args.get("$select"))
    except odata.ODataError as err:
        raise ServiceError(400, "BadRequest", str(err)) from None
    docs = docs[skip:]
    if top is not None:
        docs = docs[:top]
    if fields is not None:
        known = set().union(*(d.keys() for d in docs)) if docs else set(fields)
        missing = [f for f in fields if f not in known]
        if missing:
            raise ServiceError(400, "BadRequest", f"Could not find a property named '{missing[0]}'.")
    return json_response({"@odata.context": context, "value": [odata.select(d, fields) for d in docs]},
                         headers=dict(ODATA_HEADERS), content_type=JSON_TYPE)


def list_companies(ctx, tenant: str, environment: str) -> Response:
    _check_call(ctx, tenant, environment)
    docs = [_shape(ctx, environment, "companies", c) for c in models.companies(ctx.store, environment)]
    return _collection(ctx, docs, _context(ctx, tenant, environment, "companies"))


def get_company(ctx, tenant: str, environment: str, company_id: str) -> Response:
    _check_call(ctx, tenant, environment)
    company = _company(ctx, environment, company_id)
    body = {"@odata.context": _context(ctx, tenant, environment, "companies/$entity")}
    body.update(_shape(ctx, environment, "companies", company))
    return json_response(body, headers=dict(ODATA_HEADERS), content_type=JSON_TYPE)


def list_company_information(ctx, tenant: str, environment: str, company_id: str) -> Response:
    _check_call(ctx, tenant, environment)
    company = _company(ctx, environment, company_id)
    info = models.company_information(ctx.store, environment, company["id"])
    docs = [_shape(ctx, environment, "companyInformation", info)] if info else []
    return _collection(ctx, docs, _context(ctx, tenant, environment, f"companies({company['id']})/companyInformation"))


def list_salespersons(ctx, tenant: str, environment: str, company_id: str) -> Response:
    _check_salesperson_call(ctx, tenant, environment)
    company = _company(ctx, environment, company_id)
    docs = [_shape(ctx, environment, models.SALESPERSONS, s)
            for s in models.salespersons(ctx.store, environment, company["id"])]
    return _collection(ctx, docs, _context(ctx, tenant, environment, f"companies({company['id']})/salespeoplePurchasers"))


def get_salesperson(ctx, tenant: str, environment: str, company_id: str, salesperson_id: str) -> Response:
    _check_salesperson_call(ctx, tenant, environment)
    company = _company(ctx, environment, company_id)
    found = models.salesperson(ctx.store, environment, company["id"], salesperson_id)
    return _salesperson_response(ctx, tenant, environment, company["id"], found, headers=ODATA_HEADERS)


WRITABLE = {"code": str, "displayName": str, "email": str, "email2": str, "phoneNo": str, "jobTitle": str,
            "commisionPercent": (int, float), "privacyBlocked": bool, "blocked": bool}


def _body(ctx) -> dict:
    body = ctx.request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError(400, "BadRequest", "Invalid Request Body.")
    for name, value in body.items():
        if name not in WRITABLE:
            raise ServiceError(400, "BadRequest",
                               f"Does not support untyped value in non-open type. Property '{name}'.")
        if not isinstance(value, WRITABLE[name]) or (WRITABLE[name] is not bool and isinstance(value, bool)):
            raise ServiceError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type of '{name}'.")
    if "code" in body:
        body["code"] = body["code"].upper()  # BC Code fields are upper case
        if not 0 < len(body["code"]) <= 20:
            raise ServiceError(400, "Internal_ValidationError",
                               f"The length of the string is {len(body['code'])}, but it must be less than or equal to 20 characters.")
    return body


def _salesperson_response(ctx, tenant, environment, company_id, doc, status=200, headers=None) -> Response:
    """One salesperson as BC sends it; writes also carry its ETag header."""
    body = {"@odata.context": _context(ctx, tenant, environment, f"companies({company_id})/salespeoplePurchasers/$entity")}
    body.update(_shape(ctx, environment, models.SALESPERSONS, doc))
    headers = headers or {**ODATA_HEADERS, "ETag": body["@odata.etag"]}
    return json_response(body, status, headers=dict(headers), content_type=JSON_TYPE)


def create_salesperson(ctx, tenant: str, environment: str, company_id: str) -> Response:
    _check_salesperson_call(ctx, tenant, environment)
    company = _company(ctx, environment, company_id)
    body = _body(ctx)
    if not body.get("code"):
        raise ServiceError(400, "BadRequest",
                           "Code must have a value in Salesperson/Purchaser: Code=. It cannot be zero or empty.")
    doc = models.create_salesperson(ctx.store, environment, company["id"], body)
    ctx.count_write()
    return _salesperson_response(ctx, tenant, environment, company["id"], doc, 201)


def patch_salesperson(ctx, tenant: str, environment: str, company_id: str, salesperson_id: str) -> Response:
    """PATCH with If-Match (`*` or the record's etag); only writable fields, types as BC's; no change, no write."""
    _check_salesperson_call(ctx, tenant, environment)
    company = _company(ctx, environment, company_id)
    updated, changed = models.update_salesperson(ctx.store, environment, company["id"], salesperson_id,
                                                 ctx.request.headers.get("If-Match"), ctx.request.get_json(silent=True))
    if changed:
        ctx.count_write()
    return _salesperson_response(ctx, tenant, environment, company["id"], updated)


def delete_salesperson(ctx, tenant: str, environment: str, company_id: str, salesperson_id: str) -> Response:
    _check_salesperson_call(ctx, tenant, environment)
    company = _company(ctx, environment, company_id)
    models.delete_salesperson(ctx.store, environment, company["id"], salesperson_id, ctx.request.headers.get("If-Match"))
    ctx.count_write()
    return Response(status=204)


ROUTES = [
    Route("GET", f"{PREFIX}/companies", list_companies),
    Route("GET", f"{PREFIX}/companies(<company_id>)", get_company),
    Route("GET", f"{PREFIX}/companies(<company_id>)/companyInformation", list_company_information),
    Route("GET", f"{PREFIX}/companies(<company_id>)/salespeoplePurchasers", list_salespersons),
    Route("GET", f"{PREFIX}/companies(<company_id>)/salespeoplePurchasers(<salesperson_id>)", get_salesperson),
    Route("POST", f"{PREFIX}/companies(<company_id>)/salespeoplePurchasers", create_salesperson, write=True),
    Route("PATCH", f"{PREFIX}/companies(<company_id>)/salespeoplePurchasers(<salesperson_id>)", patch_salesperson,
          write=True),
    Route("DELETE", f"{PREFIX}/companies(<company_id>)/salespeoplePurchasers(<salesperson_id>)", delete_salesperson,
          write=True),
]
