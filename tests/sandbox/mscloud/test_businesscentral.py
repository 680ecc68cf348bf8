"""mscloud's BusinessCentralClient against the sandbox: companies, companyInformation, salespeoplePurchasers; an app
BC does not let in, an environment before BC 26.0, a salesperson page without some fields."""
import pytest

from mscloud import connect
from mscloud.businesscentral import NotRegisteredInBusinessCentral, SalespersonsUnavailable
from mscloud.cloud import sandbox_cloud
from mscloud.credentials import ClientCredential
from mscloud.errors import NotFound
from tests.sandboxkit import (COMPANY, INTEGRATION_APP, INTEGRATION_SECRET, count, fresh_clients,
                              start_bc_environments_sandbox)

pytestmark = pytest.mark.sandbox


def test_business_central_company_currency_and_salespersons(sandbox):
    cloud = sandbox_cloud(sandbox.data_dir)
    environment = cloud.business_central_url.split("/api/v2.0")[0].rsplit("/", 1)[1]
    sandbox.reset_metrics()
    clients = fresh_clients(cloud)
    bc = clients.business_central(environment)
    assert bc.base_url == cloud.business_central_url
    company = bc.company_named("cronus usa, inc.")
    assert company and company["id"]
    info = bc.company_information(company["id"])
    assert info.get("currencyCode")
    salespersons, missing = bc.salespersons(company["id"], ["code", "blocked"])
    assert all("code" in s for s in salespersons) and missing == []
    with pytest.raises(NotFound):
        bc.company_information("00000000-0000-4000-8000-000000000000")
    metrics = sandbox.metrics()
    assert count(metrics, "GET", "/companies") == 1
    assert clients.http.requests_sent == metrics["total"]


@pytest.fixture(scope="module")
def environments(tmp_path_factory):
    with start_bc_environments_sandbox(tmp_path_factory.mktemp("bc-client")) as running:
        yield running


def test_an_app_bc_does_not_let_in_is_named_with_the_page_to_register_it_on(environments):
    cloud = sandbox_cloud(environments.data_dir)
    integration = ClientCredential(cloud.tenant_id, INTEGRATION_APP, "secret", secret=INTEGRATION_SECRET)
    with pytest.raises(NotRegisteredInBusinessCentral) as refused:
        connect(cloud, integration).business_central("Production").companies()
    text = str(refused.value)
    assert text.startswith("business-central 401 Authentication_InvalidCredentials: Business Central environment "
                           f"Production rejected app {INTEGRATION_APP}: register it")
    assert "Microsoft Entra Applications (page 9860)" in text and INTEGRATION_SECRET not in text
    with pytest.raises(NotRegisteredInBusinessCentral):   # the pipeline app: registered on Production, not on Closed
        fresh_clients(cloud).business_central("Closed").companies()


def test_before_bc_26_salespersons_are_unavailable_not_an_error_of_the_request(environments):
    bc = fresh_clients(sandbox_cloud(environments.data_dir)).business_central("Legacy")
    assert [c["id"] for c in bc.companies()] == [COMPANY]
    with pytest.raises(SalespersonsUnavailable) as unavailable:
        bc.salespersons(COMPANY, ["code"])
    assert "environment Legacy has no salespeoplePurchasers in API v2.0 (it came with Business Central 26.0)" in str(
        unavailable.value)


def test_fields_a_page_lacks_are_dropped_from_select(environments):
    environments.reset_metrics()
    bc = fresh_clients(sandbox_cloud(environments.data_dir)).business_central("Variant")
    rows, missing = bc.salespersons(COMPANY, ["code", "displayName", "email", "blocked"])
    assert missing == ["email", "blocked"]
    assert sorted(r["code"] for r in rows) == ["AH", "BK", "JR"] and all("blocked" not in r for r in rows)
    assert count(environments.metrics(), "GET", "/salespeoplePurchasers") == 3   # one more read per missing field
