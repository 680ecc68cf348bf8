"""The well-known resource service principals the sandbox tenant has, and their application permissions.

Graph app-role ids are Microsoft's real ones where known (so code that hard-codes them works); other
roles get stable uuid5 ids derived from the resource and the role name.
"""
from __future__ import annotations

import uuid

from mscloud.wellknown import BUSINESS_CENTRAL_APP_ID, DYNAMICS_CRM_APP_ID, GRAPH_APP_ID  # noqa: F401 (re-exported)

GRAPH_AUDIENCE = "https://graph.microsoft.com"
BUSINESS_CENTRAL_AUDIENCE = "https://api.businesscentral.dynamics.com"

GRAPH_ROLE_IDS = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
    "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "Organization.Read.All": "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    "LicenseAssignment.ReadWrite.All": "5facf0c1-8979-4e95-abcf-ff3d079771c0",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "DelegatedPermissionGrant.ReadWrite.All": "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    "Domain.Read.All": "dbb9058a-0e50-45d7-ae91-66909b5d4664",
}
# Business Central's application permissions: API.ReadWrite.All has Microsoft's real id (the one
# provisioning/identity_managed.py requests); the others are unconfirmed and get stable uuid5 values.
BUSINESS_CENTRAL_ROLE_IDS = {"API.ReadWrite.All": "a42b0b75-311e-488d-b67e-8fe84f924341"}
BUSINESS_CENTRAL_ROLES = ["API.ReadWrite.All", "Automation.ReadWrite.All", "AdminCenter.ReadWrite.All", "app_access"]
# Dynamics CRM's one delegated scope, with Microsoft's real id.
DYNAMICS_CRM_SCOPES = [{"id": "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4", "value": "user_impersonation", "type": "User",
                        "isEnabled": True, "adminConsentDisplayName": "Access Common Data Service as organization users",
                        "adminConsentDescription": "Allows the application to access Common Data Service acting as "
                                                   "users in the organization."}]
KNOWN_ROLE_IDS = {GRAPH_APP_ID: GRAPH_ROLE_IDS, BUSINESS_CENTRAL_APP_ID: BUSINESS_CENTRAL_ROLE_IDS}


def role_id(resource_app_id: str, value: str) -> str:
    known = KNOWN_ROLE_IDS.get(resource_app_id, {})
    return known.get(value) or str(uuid.uuid5(uuid.UUID(resource_app_id), value))


def object_id(kind: str, key: str) -> str:
    """Stable object ids for seeded directory objects (same seed, same ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox:{kind}:{key.lower()}"))


def app_role(resource_app_id: str, value: str) -> dict:
    return {"id": role_id(resource_app_id, value), "value": value, "displayName": value, "description": value,
            "allowedMemberTypes": ["Application"], "isEnabled": True, "origin": "Application"}


def resource_service_principals(graph_roles: set[str]) -> list[dict]:
    """Graph (with every Graph role the seed names plus the known ones), Dynamics CRM and Business Central."""
    graph_values = sorted(set(GRAPH_ROLE_IDS) | set(graph_roles))
    specs = [
        (GRAPH_APP_ID, "Microsoft Graph", [app_role(GRAPH_APP_ID, v) for v in graph_values], [],
         [GRAPH_AUDIENCE, GRAPH_APP_ID]),
        (DYNAMICS_CRM_APP_ID, "Dataverse", [], DYNAMICS_CRM_SCOPES, [DYNAMICS_CRM_APP_ID]),
        (BUSINESS_CENTRAL_APP_ID, "Dynamics 365 Business Central",
         [app_role(BUSINESS_CENTRAL_APP_ID, v) for v in BUSINESS_CENTRAL_ROLES], [],
         [BUSINESS_CENTRAL_AUDIENCE, BUSINESS_CENTRAL_APP_ID]),
    ]
    return [
        {"id": object_id("servicePrincipals", app_id), "appId": app_id, "displayName": name, "appRoles": roles,
         "servicePrincipalNames": names, "servicePrincipalType": "Application", "accountEnabled": True,
         "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a", "oauth2PermissionScopes": scopes}
        for app_id, name, roles, scopes, names in specs
    ]
