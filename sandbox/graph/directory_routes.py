"""Graph v1.0 wire layer for users, groups, licences, subscribedSkus, domains and organization."""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

from sandbox.app import json_response

from . import permissions as perm
from .errors import bad_request
from .models import USER_DEFAULT, directory
from .query import collection, created, entity, no_content, read_json
from .routing import V, route

def _user_views(d) -> list[dict]:
    state = d.licence_state()
    return [d.user_view(u, state) for u in d.users()]


def _group_default(view: dict) -> dict:
    return {k: v for k, v in view.items() if k != "assignedLicenses"}


# -- users ----------------------------------------------------------------------------------------
def list_users(ctx):
    perm.require(ctx, perm.READ_USERS)
    return collection(ctx, _user_views(directory(ctx)), "users", USER_DEFAULT, type_name="user")


def count_users(ctx):
    perm.require(ctx, perm.READ_USERS)
    if ctx.request.headers.get("ConsistencyLevel", "").lower() != "eventual":
        raise bad_request("$count is not supported without the ConsistencyLevel header set to 'eventual'.",
                          code="Request_UnsupportedQuery")
    return Response(str(len(directory(ctx).users())), content_type="text/plain")


def get_user(ctx, key):
    perm.require(ctx, perm.READ_USERS)
    d = directory(ctx)
    user = d.user(key)
    return entity(ctx, d.user_view(user, d.licence_state()), "users", USER_DEFAULT, type_name="user")


def create_user(ctx):
    perm.require(ctx, perm.WRITE_USERS)
    d = directory(ctx)
    user = d.create_user(read_json(ctx))
    response = entity(ctx, d.user_view(user, d.licence_state()), "users", USER_DEFAULT, type_name="user", status=201)
    response.headers["Location"] = f"{ctx.base_url}/v1.0/users/{user['id']}"
    return response


def update_user(ctx, key):
    perm.require(ctx, perm.WRITE_USERS)
    directory(ctx).update_user(key, read_json(ctx))
    return no_content()


def delete_user(ctx, key):
    perm.require(ctx, perm.WRITE_USERS)
    directory(ctx).delete_user(key)
    return no_content()


def assign_user_licence(ctx, key):
    perm.require(ctx, perm.ASSIGN_USER_LICENCE)
    d = directory(ctx)
    user = d.assign_user_licence(key, read_json(ctx))
    return entity(ctx, d.user_view(user, d.licence_state()), "users", USER_DEFAULT, type_name="user")


def licence_details(ctx, key):
    perm.require(ctx, perm.READ_LICENCES)
    d = directory(ctx)
    return collection(ctx, d.licence_details(key), f"users('{key}')/licenseDetails", type_name="licenseDetails")


def member_of(ctx, key):
    perm.require(ctx, perm.READ_USERS)
    d = directory(ctx)
    groups = [{"@odata.type": "#microsoft.graph.group", **_group_default(d.group_view(g))}
              for g in d.member_of(d.user(key)["id"])]
    return collection(ctx, groups, "directoryObjects", type_name="directoryObject")


# -- groups ---------------------------------------------------------------------------------------
def list_groups(ctx):
    perm.require(ctx, perm.READ_GROUPS)
    d = directory(ctx)
    views = [d.group_view(g) for g in d.groups()]
    response = collection(ctx, views, "groups", type_name="group")
    return _strip_group_licences(ctx, response)


def get_group(ctx, key):
    perm.require(ctx, perm.READ_GROUPS)
    d = directory(ctx)
    return _strip_group_licences(ctx, entity(ctx, d.group_view(d.group(key)), "groups", type_name="group"))


def _strip_group_licences(ctx, response):
    """`assignedLicenses` of a group is served only when `$select`ed (as Graph does)."""
    if ctx.request.args.get("$select"):
        return response
    body = json.loads(response.get_data())
    for item in body.get("value", [body]):
        item.pop("assignedLicenses", None)
    response.set_data(json.dumps(body, separators=(",", ":")))
    return response


def create_group(ctx):
    body = read_json(ctx)
    perm.require(ctx, perm.WRITE_GROUPS)
    if isinstance(body, dict) and body.get("members@odata.bind"):
        perm.require(ctx, perm.WRITE_MEMBERS)
    d = directory(ctx)
    group = d.create_group(body)
    return created(ctx, "groups", _group_default(d.group_view(group)), f"groups/{group['id']}")


def delete_group(ctx, key):
    perm.require(ctx, perm.WRITE_GROUPS)
    directory(ctx).delete_group(key)
    return no_content()


def list_members(ctx, key):
    perm.require(ctx, perm.READ_GROUPS)
    d = directory(ctx)
    state = None
    views = []
    for kind, doc in d.members(key):
        if kind == "users":
            state = state or d.licence_state()
            view = d.user_view(doc, state)
            if not ctx.request.args.get("$select"):
                view = {k: v for k, v in view.items() if k in USER_DEFAULT}
            views.append({"@odata.type": "#microsoft.graph.user", **view})
        elif kind == "groups":
            views.append({"@odata.type": "#microsoft.graph.group", **_group_default(d.group_view(doc))})
        else:
            views.append({"@odata.type": "#microsoft.graph.servicePrincipal",
                          **{k: v for k, v in doc.items() if not k.startswith("_")}})
    return collection(ctx, views, "directoryObjects", type_name="directoryObject")


def add_member(ctx, key):
    perm.require(ctx, perm.WRITE_MEMBERS)
    body = read_json(ctx)
    directory(ctx).add_member(key, body.get("@odata.id") if isinstance(body, dict) else None)
    return no_content()


def remove_member(ctx, key, member):
    perm.require(ctx, perm.WRITE_MEMBERS)
    directory(ctx).remove_member(key, member)
    return no_content()


def assign_group_licence(ctx, key):
    perm.require(ctx, perm.ASSIGN_GROUP_LICENCE)
    d = directory(ctx)
    group = d.assign_group_licence(key, read_json(ctx))
    return json_response({"@odata.context": f"{ctx.base_url}/v1.0/$metadata#groups/$entity",
                          **_group_default(d.group_view(group))}, 202)


# -- tenant ---------------------------------------------------------------------------------------
def subscribed_skus(ctx):
    perm.require(ctx, perm.READ_SKUS)
    return collection(ctx, directory(ctx).subscribed_skus(), "subscribedSkus", type_name="subscribedSku")


def domains(ctx):
    perm.require(ctx, perm.READ_DOMAINS)
    names = directory(ctx).domains()
    views = [{"id": name, "authenticationType": "Managed", "isAdminManaged": True, "isDefault": i == 0,
              "isInitial": i == 0, "isRoot": True, "isVerified": True, "passwordNotificationWindowInDays": 14,
              "passwordValidityPeriodInDays": 2147483647, "supportedServices": ["Email", "OfficeCommunicationsOnline"],
              "state": None} for i, name in enumerate(names)]
    return collection(ctx, views, "domains", type_name="domain")


def organization(ctx):
    perm.require(ctx, perm.READ_ORGANIZATION)
    org = directory(ctx).organization()
    names = org.get("domains", [])
    view = {"id": org["id"], "displayName": org.get("displayName", ""), "countryLetterCode": org.get("countryLetterCode"),
            "createdDateTime": org.get("createdDateTime"), "tenantType": "AAD",
            "verifiedDomains": [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": i == 0,
                                 "isInitial": i == 0, "name": name, "type": "Managed"} for i, name in enumerate(names)]}
    return collection(ctx, [view], "organization", type_name="organization")


ROUTES = [
    route("GET", f"{V}/users", list_users),
    route("GET", f"{V}/users/$count", count_users),
    route("POST", f"{V}/users", create_user, True),
    route("GET", f"{V}/users/<key>", get_user),
    route("PATCH", f"{V}/users/<key>", update_user, True),
    route("DELETE", f"{V}/users/<key>", delete_user, True),
    route("POST", f"{V}/users/<key>/assignLicense", assign_user_licence, True),
    route("GET", f"{V}/users/<key>/licenseDetails", licence_details),
    route("GET", f"{V}/users/<key>/memberOf", member_of),
    route("GET", f"{V}/groups", list_groups),
    route("POST", f"{V}/groups", create_group, True),
    route("GET", f"{V}/groups/<key>", get_group),
    route("DELETE", f"{V}/groups/<key>", delete_group, True),
    route("GET", f"{V}/groups/<key>/members", list_members),
    route("POST", f"{V}/groups/<key>/members/$ref", add_member, True),
    route("DELETE", f"{V}/groups/<key>/members/<member>/$ref", remove_member, True),
    route("POST", f"{V}/groups/<key>/assignLicense", assign_group_licence, True),
    route("GET", f"{V}/subscribedSkus", subscribed_skus),
    route("GET", f"{V}/domains", domains),
    route("GET", f"{V}/organization", organization),
]
