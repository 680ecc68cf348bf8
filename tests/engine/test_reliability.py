"""Reliability with the real engine on the sandbox stack (issue #8): a failed async import stops the run before
any role is handed out and a fixed package finishes it; with faults on, `up` reaches the same end state as
without and creates nothing twice; tokens that expire mid-run are renewed; no secret reaches the console,
the state export or any file the run writes.

End states are read live through the sandbox's own APIs (not from Pulumi state), counted by natural key.
"""
from __future__ import annotations

import collections
import json
import re
import stat
import subprocess

import pytest

from mscloud.connection import clients_for, connection
from solution_import.role_lookup import short_name
from tests.engine.test_sandbox_stack import edit_stack
from tests.enginekit import VENV, sandbox_project_stack as sandbox_stack

pytestmark = pytest.mark.engine

INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
SOLUTION = "BcSalesIntegrationSample"
BROKEN_PACKAGE = "solutions/BcSalesIntegrationSampleAddOn_1_0_0_0.zip"
GOOD_PACKAGE = "solutions/BcSalesIntegrationSample_1_0_0_0.zip"
INTEGRATION_ROLES = ("Integration Administrator", "Integration User", "Product Availability User")
STACK_CLIENT_SECRET = "stack-client-secret-4711-do-not-print"   # bcsi:identity.app.clientSecret (secure)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def live_state(cloud) -> dict:
    """What the tenant and Dataverse hold now, by natural key, with counts so duplicates show."""
    clients = clients_for(connection("sandbox", sandbox_dir=cloud.data_dir))
    dataverse = clients.dataverse(cloud.endpoints["dataverse"])
    solutions = dataverse.list("solutions", select=["uniquename", "version"])
    users = dataverse.list("systemusers", select=["domainname", "applicationid", "accessmode"],
                           expand="systemuserroles_association($select=name)")
    root = dataverse.list("businessunits", select=["businessunitid"], filter="_parentbusinessunitid_value eq null")
    roles = dataverse.list("roles", select=["name"], filter=f"_businessunitid_value eq {root[0]['businessunitid']}")
    holders: dict[str, list[str]] = collections.defaultdict(list)
    for user in users:
        key = user.get("applicationid") or user.get("domainname")
        for role in user.get("systemuserroles_association") or []:
            holders[short_name(role["name"])].append(str(key).lower())   # by the stack's names, every unit's copy
    graph_users = clients.graph.list("/users", params={"$select": "userPrincipalName,assignedLicenses"})
    skus = {s["skuId"]: s["skuPartNumber"] for s in clients.graph.list("/subscribedSkus")}
    licences: dict[str, list[str]] = collections.defaultdict(list)
    for user in graph_users:
        for licence in user.get("assignedLicenses") or []:
            licences[skus[licence["skuId"]]].append(user["userPrincipalName"].lower())
    return {
        "solutions": sorted((s["uniquename"], s["version"]) for s in solutions),
        "applicationUsers": sorted(str(u["applicationid"]).lower() for u in users if u.get("applicationid")),
        "users": sorted(str(u["domainname"]).lower() for u in users if u.get("domainname")),
        "integrationUserAccess": [u.get("accessmode") for u in users
                                  if str(u.get("domainname")).lower() == "bcintegration@contoso.com"],
        "roles": sorted(r["name"] for r in roles),
        "holders": {role: sorted(members) for role, members in sorted(holders.items())},
        "licences": {sku: sorted(upns) for sku, upns in sorted(licences.items())},
    }


def assert_no_duplicates(state: dict) -> None:
    """Every natural key appears once: solution unique name, application id, UPN, role name, role holder."""
    for key in ("solutions", "applicationUsers", "users", "roles"):
        counts = collections.Counter(state[key])
        assert all(n == 1 for n in counts.values()), (key, counts)
    for role, members in state["holders"].items():
        assert len(members) == len(set(members)), (role, members)
    for sku, upns in state["licences"].items():
        assert len(upns) == len(set(upns)), (sku, upns)


def console(proc) -> str:
    return proc.stdout + proc.stderr


def assert_user_error(output: str, *needles: str) -> None:
    """The run names the problem and shows the user no Python traceback."""
    for needle in needles:
        assert needle in output, output
    assert "Traceback (most recent call last)" not in output, output


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Filled by the first test: the fault-free end state the others must reach."""
    return {}


def test_failed_async_import_stops_the_run_and_a_fixed_package_finishes_it(tmp_path, start_sandbox, reference):
    cloud = start_sandbox(tmp_path / "sandbox")
    before = live_state(cloud)
    stack = sandbox_stack(tmp_path, cloud)
    edit_stack(stack.project_dir, lambda c: c["bcsi:solution"].update(path=BROKEN_PACKAGE))

    failed = stack.run("up", "--yes", "--skip-preview", check=False)
    assert failed.returncode != 0
    assert_user_error(console(failed), "dataverse-solution", "bcsi_itemavailability", "BcSalesIntegrationPrerequisites")
    after_failure = live_state(cloud)
    assert after_failure["holders"] == before["holders"]          # nothing after the import was applied
    assert after_failure["applicationUsers"] == before["applicationUsers"]
    assert after_failure["integrationUserAccess"] == before["integrationUserAccess"]
    assert after_failure["solutions"] == before["solutions"]

    edit_stack(stack.project_dir, lambda c: c["bcsi:solution"].update(path=GOOD_PACKAGE))
    stack.run("up", "--yes", "--skip-preview")
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert (SOLUTION, "1.0.0.0") in state["solutions"]
    assert state["holders"]["Integration Administrator"] == [INTEGRATION_APP]
    assert state["holders"]["Integration User"] == sorted([INTEGRATION_APP, "ann@contoso.com"])
    assert state["holders"]["Product Availability User"] == ["ann@contoso.com", "bob@contoso.com"]
    assert state["integrationUserAccess"] == [4]
    reference.update(state)
    cloud.reset_metrics()
    stack.run("up", "--yes", "--skip-preview")
    assert cloud.metrics()["writes"] == 0


def test_up_under_faults_converges_to_the_fault_free_end_state(tmp_path, start_sandbox, reference):
    if not reference:
        pytest.skip("needs the fault-free end state of the test before")
    cloud = start_sandbox(tmp_path / "sandbox", faults="429=0.2,503=0.1,reset=0.05,seed=8")
    stack = sandbox_stack(tmp_path, cloud)
    up = stack.run("up", "--yes", "--skip-preview", check=False)
    assert up.returncode == 0, console(up)
    metrics = cloud.metrics()
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert state == reference
    cloud.reset_metrics()
    stack.run("up", "--yes", "--skip-preview")
    assert cloud.metrics()["writes"] == 0
    assert metrics["total"] > 0


def test_tokens_expiring_mid_run_are_renewed(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox", latency_ms=150)
    cloud.settings(tokenLifetimeSeconds=4)
    stack = sandbox_stack(tmp_path, cloud)
    up = stack.run("up", "--yes", "--skip-preview", check=False)
    assert up.returncode == 0, console(up)
    tokens = cloud.metrics()["requests"]
    token_requests = sum(n for route, n in tokens.items() if route.endswith("/oauth2/v2.0/token"))
    assert token_requests >= 3, tokens   # the run outlived its first tokens and fetched new ones
    state = live_state(cloud)
    assert_no_duplicates(state)
    assert state["holders"]["Integration Administrator"] == [INTEGRATION_APP]


def test_no_secret_in_console_state_or_files(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    stack = sandbox_stack(tmp_path, cloud)
    stack.run("config", "set", "--path", "--secret", "bcsi:identity.app.clientSecret", STACK_CLIENT_SECRET)
    outputs = [console(stack.run("preview", "--diff")), console(stack.run("up", "--yes", "--diff")),
               console(stack.run("preview", "--diff", "--refresh")), console(stack.run("stack", "output", "--json")),
               console(stack.run("stack", "export"))]
    for form in ("json", "table"):
        plan = subprocess.run([str(VENV / "bin" / "bcsi"), "plan", "--stack", "sandbox", "--format", form],
                              cwd=stack.project_dir, env=stack.env, capture_output=True, text=True, timeout=120)
        assert plan.returncode == 0, console(plan)
        outputs.append(console(plan))
    export = json.loads(stack.run("stack", "export").stdout)
    secrets = [cloud.endpoints["client_secret"], STACK_CLIENT_SECRET]
    text = "\n".join(outputs)
    for secret in secrets:
        assert secret not in text
    assert not JWT.search(text), JWT.search(text).group(0)[:20]
    assert "integrationClientSecret" in json.dumps(export)
    assert stack.outputs(show_secrets=True)["integrationClientSecret"] == STACK_CLIENT_SECRET  # kept, encrypted

    # Files the run wrote (state, home, project): no secret or token in plain text; token caches owner-only.
    for base in (stack.state_dir, stack.project_dir, tmp_path / "home"):
        for path in base.rglob("*"):
            if not path.is_file() or path.suffix in (".zip", ".pyc"):
                continue
            content = path.read_bytes().decode("utf-8", "replace")
            for secret in secrets:
                assert secret not in content, path
            assert not JWT.search(content), path
            if "msal" in path.name.lower() or ("token" in path.name.lower() and "cache" in path.name.lower()):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
