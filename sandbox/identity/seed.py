"""Entra ID's seed hook: the seeded apps' applications and service principals, the resource service principals
(Graph, Dynamics CRM, Business Central) and the app-role grants and consents of the `identity:` section."""
from __future__ import annotations

from sandbox.identity import resources as res
from sandbox.identity.models import CONFIG, iso, now_utc, password_credential


def seed(store, seed_doc: dict, ctx) -> None:
    """Applications + service principals for the seeded apps, the resource SPs, and their app-role grants."""
    section = seed_doc.get("identity") or {}
    apps = section.get("apps") or []
    graph_roles = {role for app in apps for role in app.get("graphRoles") or []}
    resource_sps = {sp["appId"]: sp for sp in res.resource_service_principals(graph_roles)}
    for sp in resource_sps.values():
        store.put("servicePrincipals", sp["id"], sp)
    orgs = [org["name"] for org in (seed_doc.get("dataverse") or {}).get("orgs") or []]
    store.put(CONFIG, "config", {"tokenLifetimeSeconds": int(section.get("tokenLifetimeSeconds", 3600)),
                                 "dataverseOrgs": orgs})
    for app in apps:
        app_id = str(app["appId"]).lower()
        grants = [(res.GRAPH_APP_ID, r) for r in app.get("graphRoles") or []]
        grants += [(res.BUSINESS_CENTRAL_APP_ID, r) for r in app.get("businessCentralRoles") or []]
        scopes = list(app.get("dataverseScopes") or [])   # delegated, admin-consented (AllPrincipals)
        application = {
            "id": res.object_id("applications", app_id), "appId": app_id, "displayName": app["displayName"],
            "signInAudience": "AzureADMyOrg", "createdDateTime": iso(now_utc()),
            "passwordCredentials": [password_credential(app["secret"])] if app.get("secret") else [],
            "keyCredentials": [], "federatedIdentityCredentials": [],
            "requiredResourceAccess": _required_resource_access(grants) + _required_scopes(scopes),
        }
        store.put("applications", application["id"], application)
        sp = {"id": res.object_id("servicePrincipals", app_id), "appId": app_id, "displayName": app["displayName"],
              "servicePrincipalType": "Application", "accountEnabled": True, "appRoles": [],
              "servicePrincipalNames": [app_id], "appOwnerOrganizationId": ctx.tenant_id}
        store.put("servicePrincipals", sp["id"], sp)
        for resource_app_id, role in grants:
            resource = resource_sps[resource_app_id]
            role_id = res.role_id(resource_app_id, role)
            if not any(r["id"] == role_id for r in resource["appRoles"]):
                raise ValueError(f"identity: apps: {app['displayName']}: unknown role {role} of {resource['displayName']}")
            assignment_id = res.object_id("appRoleAssignments", f"{sp['id']}:{role_id}")
            store.put("appRoleAssignments", assignment_id, {
                "id": assignment_id, "principalId": sp["id"], "principalType": "ServicePrincipal",
                "principalDisplayName": sp["displayName"], "resourceId": resource["id"],
                "resourceDisplayName": resource["displayName"], "appRoleId": role_id,
                "createdDateTime": iso(now_utc())})
        if scopes:
            crm = resource_sps[res.DYNAMICS_CRM_APP_ID]
            grant_id = res.object_id("oauth2PermissionGrants", f"{sp['id']}:{crm['id']}")
            store.put("oauth2PermissionGrants", grant_id, {
                "id": grant_id, "clientId": sp["id"], "consentType": "AllPrincipals", "principalId": None,
                "resourceId": crm["id"], "scope": " ".join(scopes)})


def _required_scopes(scopes: list[str]) -> list[dict]:
    """Dynamics CRM delegated scopes (user_impersonation) as requiredResourceAccess entries."""
    known = {scope["value"]: scope["id"] for scope in res.DYNAMICS_CRM_SCOPES}
    unknown = sorted(set(scopes) - set(known))
    if unknown:
        raise ValueError(f"identity: apps: unknown Dynamics CRM scope(s) {', '.join(unknown)} (allowed: {', '.join(known)})")
    return [{"resourceAppId": res.DYNAMICS_CRM_APP_ID,
             "resourceAccess": [{"id": known[s], "type": "Scope"} for s in scopes]}] if scopes else []


def _required_resource_access(grants: list[tuple[str, str]]) -> list[dict]:
    by_resource: dict[str, list[dict]] = {}
    for resource_app_id, role in grants:
        by_resource.setdefault(resource_app_id, []).append({"id": res.role_id(resource_app_id, role), "type": "Role"})
    return [{"resourceAppId": k, "resourceAccess": v} for k, v in by_resource.items()]
