"""Graph v1.0 wire layer for applications, service principals, app role assignments and oauth2PermissionGrants."""
from __future__ import annotations

from functools import partial

from sandbox.app import Route, json_response

from . import permissions as perm
from .apps import apps
from .errors import not_found
from .models import public
from .query import collection, created, entity, no_content, read_json
from .routing import V, route


def _application(a, key=None, app_id=None) -> dict:
    return a.application_by_app_id(app_id) if app_id else a.application(key)


# -- applications ---------------------------------------------------------------------------------
def list_applications(ctx):
    perm.require(ctx, perm.READ_APPS)
    a = apps(ctx)
    return collection(ctx, [a.application_view(d) for d in a.applications()], "applications", type_name="application")


def get_application(ctx, key=None, app_id=None):
    perm.require(ctx, perm.READ_APPS)
    a = apps(ctx)
    return entity(ctx, a.application_view(_application(a, key, app_id)), "applications", type_name="application")


def create_application(ctx):
    perm.require(ctx, perm.WRITE_APPS)
    a = apps(ctx)
    doc = a.create_application(read_json(ctx))
    return created(ctx, "applications", a.application_view(doc), f"applications/{doc['id']}")


def update_application(ctx, key=None, app_id=None):
    perm.require(ctx, perm.WRITE_APPS)
    a = apps(ctx)
    a.update_application(_application(a, key, app_id)["id"], read_json(ctx))
    return no_content()


def delete_application(ctx, key=None, app_id=None):
    perm.require(ctx, perm.WRITE_APPS)
    a = apps(ctx)
    a.delete_application(_application(a, key, app_id)["id"])
    return no_content()


def add_password(ctx, key):
    perm.require(ctx, perm.WRITE_APPS)
    credential = apps(ctx).add_password(key, read_json(ctx, required=False))
    return json_response({"@odata.context": f"{ctx.base_url}/v1.0/$metadata#microsoft.graph.passwordCredential",
                          **credential})


def remove_password(ctx, key):
    perm.require(ctx, perm.WRITE_APPS)
    apps(ctx).remove_password(key, read_json(ctx))
    return no_content()


def list_federated(ctx, key):
    perm.require(ctx, perm.READ_APPS)
    return collection(ctx, apps(ctx).federated_credentials(key),
                      f"applications('{key}')/federatedIdentityCredentials", type_name="federatedIdentityCredential")


def get_federated(ctx, key, fic):
    perm.require(ctx, perm.READ_APPS)
    return entity(ctx, apps(ctx).federated_credential(key, fic),
                  f"applications('{key}')/federatedIdentityCredentials", type_name="federatedIdentityCredential")


def create_federated(ctx, key):
    perm.require(ctx, perm.WRITE_APPS)
    item = apps(ctx).create_federated_credential(key, read_json(ctx))
    return created(ctx, f"applications('{key}')/federatedIdentityCredentials", item,
                   f"applications/{key}/federatedIdentityCredentials/{item['id']}")


def update_federated(ctx, key, fic):
    perm.require(ctx, perm.WRITE_APPS)
    apps(ctx).update_federated_credential(key, fic, read_json(ctx))
    return no_content()


def delete_federated(ctx, key, fic):
    perm.require(ctx, perm.WRITE_APPS)
    apps(ctx).delete_federated_credential(key, fic)
    return no_content()


# -- service principals ---------------------------------------------------------------------------
def _sp_view(doc: dict) -> dict:
    return public(doc)


def _sp(a, key=None, app_id=None) -> dict:
    if app_id:
        found = [sp for sp in a.service_principals() if sp["appId"] == app_id.lower()]
        if not found:
            raise not_found(app_id)
        return found[0]
    return a.service_principal(key)


def list_service_principals(ctx):
    perm.require(ctx, perm.READ_APPS)
    a = apps(ctx)
    return collection(ctx, [_sp_view(d) for d in a.service_principals()], "servicePrincipals",
                      type_name="servicePrincipal")


def get_service_principal(ctx, key=None, app_id=None):
    perm.require(ctx, perm.READ_APPS)
    return entity(ctx, _sp_view(_sp(apps(ctx), key, app_id)), "servicePrincipals", type_name="servicePrincipal")


def create_service_principal(ctx):
    perm.require(ctx, perm.WRITE_APPS)
    doc = apps(ctx).create_service_principal(read_json(ctx))
    return created(ctx, "servicePrincipals", _sp_view(doc), f"servicePrincipals/{doc['id']}")


def delete_service_principal(ctx, key=None, app_id=None):
    perm.require(ctx, perm.WRITE_APPS)
    a = apps(ctx)
    a.delete_service_principal(_sp(a, key, app_id)["id"])
    return no_content()


# The same appRoleAssignment objects seen from both ends: the client SP's appRoleAssignments (principalId fixed by
# the URL) and the resource SP's appRoleAssignedTo (resourceId fixed). `nav` is the navigation property.
_FIXED_END = {"appRoleAssignments": "principal", "appRoleAssignedTo": "resource"}


def list_assignments(ctx, key, nav):
    perm.require(ctx, perm.READ_APPS | perm.WRITE_ROLE_ASSIGNMENTS)
    a = apps(ctx)
    sp_id = a.service_principal(key)["id"]
    found = a.assignments_of(sp_id) if _FIXED_END[nav] == "principal" else a.assignments_to(sp_id)
    return collection(ctx, found, f"servicePrincipals('{key}')/{nav}", type_name="appRoleAssignment")


def create_assignment(ctx, key, nav):
    perm.require(ctx, perm.WRITE_ROLE_ASSIGNMENTS)
    a = apps(ctx)
    doc = a.create_assignment(read_json(ctx), **{_FIXED_END[nav]: a.service_principal(key)["id"]})
    return created(ctx, f"servicePrincipals('{key}')/{nav}", doc, f"servicePrincipals/{key}/{nav}/{doc['id']}")


def delete_assignment(ctx, key, assignment, nav):
    perm.require(ctx, perm.WRITE_ROLE_ASSIGNMENTS)
    a = apps(ctx)
    a.delete_assignment(assignment, **{_FIXED_END[nav]: a.service_principal(key)["id"]})
    return no_content()


def _assignment_routes(nav: str) -> list[Route]:
    return [route("GET", f"{_SP}/{nav}", partial(list_assignments, nav=nav)),
            route("POST", f"{_SP}/{nav}", partial(create_assignment, nav=nav), True),
            route("DELETE", f"{_SP}/{nav}/<assignment>", partial(delete_assignment, nav=nav), True)]


# -- oauth2PermissionGrants -----------------------------------------------------------------------
def list_grants(ctx):
    perm.require(ctx, perm.READ_GRANTS)
    return collection(ctx, apps(ctx).grants(), "oauth2PermissionGrants", type_name="oAuth2PermissionGrant")


def get_grant(ctx, key):
    perm.require(ctx, perm.READ_GRANTS)
    return entity(ctx, apps(ctx).grant(key), "oauth2PermissionGrants", type_name="oAuth2PermissionGrant")


def create_grant(ctx):
    perm.require(ctx, perm.WRITE_GRANTS)
    doc = apps(ctx).create_grant(read_json(ctx))
    return created(ctx, "oauth2PermissionGrants", doc, f"oauth2PermissionGrants/{doc['id']}")


def update_grant(ctx, key):
    perm.require(ctx, perm.WRITE_GRANTS)
    apps(ctx).update_grant(key, read_json(ctx))
    return no_content()


def delete_grant(ctx, key):
    perm.require(ctx, perm.WRITE_GRANTS)
    apps(ctx).delete_grant(key)
    return no_content()


_APP = f"{V}/applications/<key>"
_APP_BY_APPID = f"{V}/applications(appId='<app_id>')"
_SP = f"{V}/servicePrincipals/<key>"
_SP_BY_APPID = f"{V}/servicePrincipals(appId='<app_id>')"
_FIC = f"{_APP}/federatedIdentityCredentials"


ROUTES = [
    route("GET", f"{V}/applications", list_applications),
    route("POST", f"{V}/applications", create_application, True),
    route("GET", _APP, get_application),
    route("PATCH", _APP, update_application, True),
    route("DELETE", _APP, delete_application, True),
    route("GET", _APP_BY_APPID, get_application),
    route("PATCH", _APP_BY_APPID, update_application, True),
    route("DELETE", _APP_BY_APPID, delete_application, True),
    route("POST", f"{_APP}/addPassword", add_password, True),
    route("POST", f"{_APP}/removePassword", remove_password, True),
    route("GET", _FIC, list_federated),
    route("POST", _FIC, create_federated, True),
    route("GET", f"{_FIC}/<fic>", get_federated),
    route("PATCH", f"{_FIC}/<fic>", update_federated, True),
    route("DELETE", f"{_FIC}/<fic>", delete_federated, True),
    route("GET", f"{V}/servicePrincipals", list_service_principals),
    route("POST", f"{V}/servicePrincipals", create_service_principal, True),
    route("GET", _SP, get_service_principal),
    route("DELETE", _SP, delete_service_principal, True),
    route("GET", _SP_BY_APPID, get_service_principal),
    route("DELETE", _SP_BY_APPID, delete_service_principal, True),
    *_assignment_routes("appRoleAssignments"),
    *_assignment_routes("appRoleAssignedTo"),
    route("GET", f"{V}/oauth2PermissionGrants", list_grants),
    route("POST", f"{V}/oauth2PermissionGrants", create_grant, True),
    route("GET", f"{V}/oauth2PermissionGrants/<key>", get_grant),
    route("PATCH", f"{V}/oauth2PermissionGrants/<key>", update_grant, True),
    route("DELETE", f"{V}/oauth2PermissionGrants/<key>", delete_grant, True),
]
