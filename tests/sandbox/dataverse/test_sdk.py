"""Microsoft's own Python SDK (powerplatform-dataverse-client) with an azure-identity credential queries the sandbox.

TLS: the SDK and azure-identity use requests without a per-call CA, so the sandbox CA goes in through
REQUESTS_CA_BUNDLE (the variable that overrides a Session's verify on these machines); verification stays on.
"""
from __future__ import annotations

import pytest
from azure.identity import ClientSecretCredential
from PowerPlatform.Dataverse.client import DataverseClient

pytestmark = pytest.mark.sandbox


@pytest.fixture
def client(sandbox, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_file)
    endpoints = sandbox.endpoints
    authority_host = endpoints["authority"].rsplit("/", 1)[0]
    credential = ClientSecretCredential(endpoints["tenant_id"], endpoints["client_id"], endpoints["client_secret"],
                                        authority=authority_host, disable_instance_discovery=True,
                                        connection_verify=sandbox.ca_file)
    with DataverseClient(endpoints["dataverse"], credential) as dataverse:
        yield dataverse


def test_sdk_resolves_tables_and_pages_through_systemusers(client):
    pages = [list(page) for page in client.records.list_pages("systemuser", select=["domainname", "accessmode"], page_size=2)]
    assert len(pages) >= 3 and all(len(page) <= 2 for page in pages)
    names = {record["domainname"] for page in pages for record in page}
    assert {"admin@contoso.com", "ann@contoso.com"} <= names


def test_sdk_filters_roles_and_reads_one_record(client):
    roles = list(client.records.list("role", select=["name", "roleid"],
                                     filter="_roletemplateid_value eq 627090ff-40a3-4053-8790-584edc5be201"
                                            " and _businessunitid_value eq 3b0c7a8e-2f4d-4e6a-9c1b-7d5e8f2a6b40"))
    assert [record["name"] for record in roles] == ["System Administrator"]
    currency = list(client.records.list("transactioncurrency", select=["isocurrencycode"]))[0]
    assert currency["isocurrencycode"] == "USD"
