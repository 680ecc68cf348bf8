"""Microsoft's own Python Graph client (msgraph-sdk, kiota over httpx, azure-identity) against the sandbox:
proof that the wire formats are the real ones, not just what our own client expects."""
import asyncio
import ssl
import warnings

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory

from tests.sandbox.graph.graphkit import BC_SKU, GRAPH_SCOPE

pytestmark = pytest.mark.sandbox


def sdk_client(sandbox) -> GraphServiceClient:
    endpoints = sandbox.endpoints
    credential = ClientSecretCredential(
        endpoints["tenant_id"], endpoints["client_id"], endpoints["client_secret"],
        authority=sandbox.base_url, disable_instance_discovery=True, connection_verify=sandbox.ca_file)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"])
    http_client = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sandbox.ca_file)))
    adapter = GraphRequestAdapter(auth, client=http_client)
    adapter.base_url = endpoints["graph"]
    return GraphServiceClient(request_adapter=adapter)


def test_msgraph_sdk_lists_users_groups_and_licence_details(sandbox):
    client = sdk_client(sandbox)

    async def scenario():
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "usageLocation", "assignedLicenses"], top=2)
        config = RequestConfiguration(query_parameters=query)
        page = await client.users.get(request_configuration=config)
        users = list(page.value)
        while page.odata_next_link:
            page = await client.users.with_url(page.odata_next_link).get()
            users += page.value
        groups = await client.groups.get()
        details = await client.users.by_user_id("ann@contoso.com").license_details.get()
        members = await client.groups.by_group_id(groups.value[0].id).members.get()
        return users, groups, details, members

    with warnings.catch_warnings():  # the SDK's generated builders warn about their own deprecated classes
        warnings.simplefilter("ignore", DeprecationWarning)
        users, groups, details, members = asyncio.run(scenario())
    upns = [u.user_principal_name for u in users]
    assert "ann@contoso.com" in upns and len(upns) == len(set(upns)) >= 6
    ann = next(u for u in users if u.user_principal_name == "ann@contoso.com")
    assert ann.usage_location == "US" and str(ann.assigned_licenses[0].sku_id) == BC_SKU
    assert "Sales team" in [g.display_name for g in groups.value]
    assert [d.sku_part_number for d in details.value] == ["DYN365_BUSCENTRAL_ESSENTIAL"]
    assert {m.id for m in members.value}
