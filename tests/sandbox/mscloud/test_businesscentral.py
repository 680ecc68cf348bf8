"""mscloud's BusinessCentralClient against the sandbox: companies, companyInformation, salespersonPurchasers."""
import pytest

from mscloud.cloud import sandbox_cloud
from mscloud.errors import NotFound
from tests.sandboxkit import count, fresh_clients

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
    salespersons = bc.salespersons(company["id"])
    assert all("code" in s for s in salespersons)
    with pytest.raises(NotFound):
        bc.company_information("00000000-0000-4000-8000-000000000000")
    metrics = sandbox.metrics()
    assert count(metrics, "GET", "/companies") == 1
    assert clients.http.requests_sent == metrics["total"]
