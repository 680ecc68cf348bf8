"""The program (provisioning/__main__.py) under Pulumi's own mocks: what it declares from the sandbox stack.

No cloud and no engine: the resources' providers never run; this checks the wiring (one LicenseAssignment per
SKU, the Dataverse connection's four kinds of resources, couplings) and the stack outputs (README, "Stack outputs" in the configuration reference).
"""
import json
import runpy
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MAIN = ROOT / "provisioning" / "__main__.py"
DYNAMIC = "pulumi-python:dynamic/bcsi:"
MANAGED_APP = "11111111-2222-4333-8444-555555555555"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        outs = dict(inputs)
        if args.typ == DYNAMIC + "RoleAssignment":
            integration = inputs.get("integrationPrincipal")
            outs["members"] = [integration if p["key"] == "integration" else p for p in inputs["principals"]]
        if args.typ.endswith("LicenseAssignment"):
            outs["members"] = inputs["users"]
        if args.typ == "azuread:index/application:Application":
            outs["clientId"] = MANAGED_APP
        if args.typ.endswith("SalespersonCouplings"):
            outs["couplings"] = [{"code": c, "salesUser": u} for c, u in inputs["salespersons"].items()]
        self.resources[args.name] = (args.typ, inputs)
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def run_program(monkeypatch, tmp_path, stack_name: str):
    stack = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack_name}.yaml").read_text())["config"]
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in stack.items()}
    monkeypatch.setenv("BCSI_SANDBOX_DIR", str(tmp_path))
    pulumi.runtime.set_all_config(config)
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="bc-sales-integration", stack=stack_name, preview=False)
    outputs = {}

    @pulumi.runtime.test
    def run():
        runpy.run_path(str(MAIN), run_name="__main__")
        root = pulumi.runtime.settings.get_root_resource()
        exported = dict(root.outputs) if root is not None else {}
        return pulumi.Output.all(**exported).apply(outputs.update)

    try:
        run()
    finally:   # leave no mock engine or config behind for later tests
        pulumi.runtime.set_all_config({})
        pulumi.runtime.settings.reset_options()
    return mocks, outputs


@pytest.fixture
def program(monkeypatch, tmp_path):
    return run_program(monkeypatch, tmp_path, "sandbox")


def test_declares_licences_connection_and_couplings(program):
    mocks, _ = program
    types = sorted(t.removeprefix(DYNAMIC) for t, _ in mocks.resources.values())
    assert types == sorted(["LicenseAssignment", "IntegrationSolution", "ApplicationUser", "IntegrationUserAccess",
                            "RoleAssignment", "RoleAssignment", "RoleAssignment", "SalespersonCouplings",
                            "bcsi:index:DataverseConnection", "bcsi:identity:IntegrationIdentity"])
    _, sales = mocks.resources["license-dyn365_enterprise_sales"]
    assert sales["users"] == ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]
    assert sales["connection"]["cloud"] == "sandbox" and "secret" not in json.dumps(sales["connection"]).lower()
    _, admin_role = mocks.resources["dataverse-role-integration-administrator"]
    assert admin_role["roleId"] == "8c8d4f51-a72b-e511-80d9-3863bb349780"
    assert admin_role["integrationPrincipal"] == {"type": "application", "key": "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"}


def test_stack_outputs_are_the_contract(program):
    _, outputs = program
    assert outputs["integrationPrincipal"] == "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
    assert outputs["solution"] == {"uniqueName": "BcSalesIntegrationSample", "version": "1.0.0.0"}
    assert outputs["roleAssignments"] == {
        "Integration Administrator": ["5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"],
        "Integration User": ["5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37", "ann@contoso.com"],
        "Product Availability User": ["ann@contoso.com", "bob@contoso.com"],
    }
    assert outputs["licenseAssignments"] == {"DYN365_ENTERPRISE_SALES": ["ann@contoso.com", "bob@contoso.com", "carla@contoso.com"]}
    assert sorted(c["code"] for c in outputs["couplings"]) == ["AH", "BK"]


def test_managed_identity_feeds_the_application_user_and_the_integration_role(monkeypatch, tmp_path):
    mocks, outputs = run_program(monkeypatch, tmp_path, "dev")
    types = {t for t, _ in mocks.resources.values()}
    assert {"azuread:index/user:User", "azuread:index/application:Application"} <= types
    _, app_user = mocks.resources["dataverse-application-user"]
    assert app_user["appId"] == MANAGED_APP
    _, admin_role = mocks.resources["dataverse-role-integration-administrator"]
    assert admin_role["integrationPrincipal"] == {"type": "application", "key": MANAGED_APP}
    assert app_user["environmentUrl"] == "https://contoso-dev.crm.dynamics.com"
    assert outputs["integrationPrincipal"] == MANAGED_APP


HEAVY_AT_LOAD = {"pulumi_azuread", "msal", "requests"}
IMPORTED_BY_PROGRAM = """
import pathlib, sys
import pytest
from tests.unit.provisioning.test_program import HEAVY_AT_LOAD, run_program
with pytest.MonkeyPatch.context() as patch:
    run_program(patch, pathlib.Path(sys.argv[1]), sys.argv[2])
print(",".join(sorted(HEAVY_AT_LOAD & {name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.parametrize("stack, expected", [("sandbox", ""), ("dev", "pulumi_azuread")])
def test_program_load_imports_only_what_the_stack_uses(tmp_path, stack, expected):
    """Every `pulumi preview` pays for the program's imports: pulumi-azuread (about a tenth of a second) only in
    mode `manage` (dev), and the HTTP stack (msal, requests) never, since every cloud read runs in the providers."""
    proc = subprocess.run([sys.executable, "-c", IMPORTED_BY_PROGRAM, str(tmp_path), stack], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1:] == ([expected] if expected else [])
