"""The well-known ids and names of Microsoft's services and of this integration, each written once.

A leaf module: it imports nothing from the project, so every folder (provisioning, solution_import, policies,
mscloud) can use it. Role names are the short names people use in `bcsi:roles`; ids never change between
tenants or languages, names may.
"""
from __future__ import annotations

# --- Microsoft first-party applications (the same app id in every tenant) --------------------------------
# https://learn.microsoft.com/troubleshoot/azure/active-directory/verify-first-party-apps-sign-in
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"              # Microsoft Graph
DYNAMICS_CRM_APP_ID = "00000007-0000-0000-c000-000000000000"       # Dynamics CRM (Dataverse)
# "the resource ID of Business Central":
# https://learn.microsoft.com/dynamics365/business-central/dev-itpro/administration/administration-center-api
BUSINESS_CENTRAL_APP_ID = "996def3d-b36c-4153-8607-a6fd3c01b89f"   # Dynamics 365 Business Central

# --- Permissions the integration app asks for ------------------------------------------------------------
DYNAMICS_CRM_USER_IMPERSONATION_SCOPE = "user_impersonation"       # Dataverse's delegated scope (its value)
DYNAMICS_CRM_USER_IMPERSONATION = "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4"      # ... and its id
BUSINESS_CENTRAL_API_READWRITE_ALL_ROLE = "API.ReadWrite.All"      # Business Central's app role (its value)
BUSINESS_CENTRAL_API_READWRITE_ALL = "a42b0b75-311e-488d-b67e-8fe84f924341"   # ... and its id
# The audience Entra ID's token exchange expects in a federated identity credential:
# https://learn.microsoft.com/graph/api/resources/federatedidentitycredentials-overview
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"

# --- Dataverse security roles ----------------------------------------------------------------------------
INTEGRATION_ADMINISTRATOR = "Integration Administrator"
INTEGRATION_USER = "Integration User"
PRODUCT_AVAILABILITY_USER = "Product Availability User"
# The three roles the integration solution brings (README.md, "Configuration reference").
INTEGRATION_ROLES = (INTEGRATION_ADMINISTRATOR, INTEGRATION_USER, PRODUCT_AVAILABILITY_USER)
# ... and the names Dataverse gives them. "The following security roles are deployed: Dynamics 365 Business Central
# Integration Administrator, Dynamics 365 Business Central Integration User" (and, in the page's versions up to
# 2020, "Dynamics 365 Business Central Product Availability User"):
# https://learn.microsoft.com/dynamics365/business-central/admin-prepare-dynamics-365-for-sales-for-integration.
# BC's own CRM Connection Setup page said "Business Central Product Availability User". The short names come last:
# the Dataverse base integration solution names its roles so.
INTEGRATION_ROLE_NAMES = {
    INTEGRATION_ADMINISTRATOR: ("Dynamics 365 Business Central Integration Administrator", INTEGRATION_ADMINISTRATOR),
    INTEGRATION_USER: ("Dynamics 365 Business Central Integration User", INTEGRATION_USER),
    PRODUCT_AVAILABILITY_USER: ("Dynamics 365 Business Central Product Availability User",
                                "Business Central Product Availability User", PRODUCT_AVAILABILITY_USER),
}
# The two of them Business Central finds by fixed role id (microsoft/BCApps, BaseApp
# Integration/D365Sales/CRMConnectionSetup.Table.al, BCIntegrationAdministratorRoleIdTxt / BCIntegrationUserRoleIdTxt)
# and requires of its integration user. Product Availability User has no fixed id there.
INTEGRATION_ADMINISTRATOR_ROLE_ID = "8c8d4f51-a72b-e511-80d9-3863bb349780"
INTEGRATION_USER_ROLE_ID = "6f960e32-a72b-e511-80d9-3863bb349780"
FIXED_ID_ROLES = {INTEGRATION_ADMINISTRATOR: INTEGRATION_ADMINISTRATOR_ROLE_ID,
                  INTEGRATION_USER: INTEGRATION_USER_ROLE_ID}
# Role template ids of built-in roles, the same in every environment (the role table's `roletemplateid`,
# https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/role).
SYSTEM_ADMINISTRATOR_TEMPLATE = "627090ff-40a3-4053-8790-584edc5be201"
SYSTEM_CUSTOMIZER_TEMPLATE = "119f245c-3cc8-4b62-b31c-d1a046ced15d"
DELEGATE_TEMPLATE = "d892cc0b-28c7-4e88-bd92-72f2c366baed"


def fixed_role_id(role_name: str | None) -> str | None:
    """BC's fixed id for one of FIXED_ID_ROLES (names compared case-insensitively); None for any other role."""
    wanted = (role_name or "").strip().casefold()
    return next((role_id for name, role_id in FIXED_ID_ROLES.items() if name.casefold() == wanted), None)


# --- Principals in `bcsi:roles` --------------------------------------------------------------------------
INTEGRATION = "integration"   # the word that stands for the stack's integration principal
USER, APPLICATION = "user", "application"


def principal_kind(value) -> str:
    """What a principal string names: INTEGRATION (the placeholder, resolved later), USER (a UPN: it has '@'),
    or APPLICATION (anything else: an application (client) id; settings accept only a GUID there)."""
    text = str(value if value is not None else "").strip()
    if text.lower() == INTEGRATION:
        return INTEGRATION
    return USER if "@" in text else APPLICATION


# --- Defaults of the stack's credential ------------------------------------------------------------------
DEFAULT_SECRET_EXPIRY_DAYS = 180           # bcsi:identity.app.secretExpiryDays when not set
STACK_SECRET_NAME = "bcsi integration"     # the display name of the client secret the stack manages
# Graph's addPassword ends a secret 2 years after its start when no end is given:
# https://learn.microsoft.com/graph/api/application-addpassword
ENTRA_DEFAULT_SECRET_DAYS = 730
