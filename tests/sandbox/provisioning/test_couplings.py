"""SalespersonCouplingsProvider against the sandbox (BC salespersons + Dataverse users): validates, never writes."""
from __future__ import annotations

import pulumi
import pytest

from mscloud.connection import connection
from provisioning.couplings import CouplingError, SalespersonCouplingsProvider

pytestmark = pytest.mark.sandbox

import sandbox.dataverse as _dataverse_service

if getattr(_dataverse_service, "SERVICE", None) is None:  # until the sandbox's Dataverse routes are in the tree
    pytest.skip("the sandbox serves no Dataverse yet", allow_module_level=True)

BC = {"environment": "Production", "company": "CRONUS USA, Inc."}


def props(sandbox, salespersons: dict) -> dict:
    conn = connection("sandbox", sandbox_dir=sandbox.data_dir)
    return {"connection": conn, "environmentUrl": None, "businessCentral": BC, "salespersons": salespersons}


def api_requests(metrics: dict) -> int:
    return sum(n for route, n in metrics["requests"].items() if "/oauth2/" not in route and "/.well-known/" not in route)


def test_valid_couplings_are_output_with_few_reads_and_no_writes(sandbox, capsys):
    provider = SalespersonCouplingsProvider()
    news = props(sandbox, {"AH": "ann@contoso.com", "BK": "bob@contoso.com"})
    sandbox.reset_metrics()
    created = provider.create(news)
    metrics = sandbox.metrics()
    assert metrics["writes"] == 0
    assert api_requests(metrics) <= 3   # companies, salespeoplePurchasers, one systemusers query
    couplings = created.outs["couplings"]
    assert [(c["code"], c["displayName"], c["salesUser"]) for c in couplings] == [
        ("AH", "Annette Hill", "ann@contoso.com"), ("BK", "Bob Kane", "bob@contoso.com")]
    assert all(len(c["systemUserId"]) == 36 for c in couplings)
    assert created.outs["unmapped"] == []

    assert provider.diff(created.id, created.outs, news).changes is False
    assert provider.read(created.id, created.outs).outs["couplings"] == couplings


def test_invalid_couplings_fail_naming_every_problem(sandbox):
    provider = SalespersonCouplingsProvider()
    news = props(sandbox, {"JR": "carla@contoso.com", "XX": "nobody@contoso.com"})
    with pytest.raises(CouplingError) as failed:
        provider.create(news)
    text = str(failed.value)
    assert "salesperson JR (John Roberts) is blocked in Business Central" in text
    assert "Sales user carla@contoso.com (for JR) holds no security role in Dataverse" in text
    assert "salesperson XX does not exist in Business Central" in text
    assert "Sales user nobody@contoso.com (for XX) does not exist in Dataverse" in text
    assert "nothing was changed" in text


def test_preview_warns_about_unmapped_salespersons_without_failing(sandbox, capsys):
    pulumi.runtime.settings.reset_options()   # as in the provider process: no engine, so warnings go to stderr
    provider = SalespersonCouplingsProvider()
    result = provider.check({}, props(sandbox, {"AH": "ann@contoso.com"}))
    assert result.failures == []
    assert "without a Sales user in bcsi:salespersons: BK" in capsys.readouterr().err


@pytest.fixture(scope="module")
def environments(tmp_path_factory):
    from tests.sandboxkit import start_bc_environments_sandbox

    with start_bc_environments_sandbox(tmp_path_factory.mktemp("couplings-bc")) as running:
        yield running


def on_environment(running, environment: str, salespersons: dict) -> dict:
    return {**props(running, salespersons), "businessCentral": {**BC, "environment": environment}}


def test_up_names_the_registration_page_instead_of_a_raw_401(environments):
    """`pulumi up` of the couplings when BC does not let the toolkit's app in: the error says where to register it."""
    from mscloud.businesscentral import NotRegisteredInBusinessCentral

    with pytest.raises(NotRegisteredInBusinessCentral) as refused:
        SalespersonCouplingsProvider().create(on_environment(environments, "Closed", {"AH": "ann@contoso.com"}))
    assert "register it in Business Central on Microsoft Entra Applications (page 9860)" in str(refused.value)


def test_up_on_bc_before_26_checks_the_sales_users_and_warns(environments, capsys):
    pulumi.runtime.settings.reset_options()   # warnings go to stderr, as in the provider process
    created = SalespersonCouplingsProvider().create(
        on_environment(environments, "Legacy", {"AH": "ann@contoso.com", "BK": "bob@contoso.com"}))
    assert [(c["code"], c["salesUser"]) for c in created.outs["couplings"]] == [
        ("AH", "ann@contoso.com"), ("BK", "bob@contoso.com")]
    assert "salespersons not checked in Business Central: environment Legacy has no salespeoplePurchasers" in (
        capsys.readouterr().err)
    with pytest.raises(CouplingError, match="Sales user nobody@contoso.com .* does not exist in Dataverse"):
        SalespersonCouplingsProvider().create(on_environment(environments, "Legacy", {"AH": "nobody@contoso.com"}))
