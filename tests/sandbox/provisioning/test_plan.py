"""`bcsi plan` against a sandbox over real HTTPS: all grants before anything exists, no change (within the request
budget, tokens included) after the resources converged at N = 1,000, drift as grants and revokes, and the app
registration of identity mode `manage`, member lists from files planned like inline ones. Nothing is patched: the CLI runs as a subprocess, reads go over the wire.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from provisioning.check import WARN, credential_results
from provisioning.dataverse_connection import role_principals
from provisioning.plan import make_plan
from provisioning.settings import load_stack, parse
from solution_import.members import classify
from solution_import.roles import RoleAssignmentProvider
from solution_import.solution import IntegrationSolutionProvider
from solution_import.users import ApplicationUserProvider
from tests.providerkit import ProviderCloud
from tests.sandboxkit import ROOT, seed_with_licensed_users, start_sandbox

pytestmark = pytest.mark.sandbox

N = 1000
SALES = "DYN365_ENTERPRISE_SALES"
APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
SAMPLE = "solutions/BcSalesIntegrationSample_1_0_0_0.zip"
BULK = [f"user{i:04d}@contoso.com" for i in range(1, N + 1)]
BCSI = str(ROOT / ".venv" / "bin" / "bcsi")


def stack_config(licence_users, pau) -> dict:
    return {
        "bcsi:cloud": "sandbox",
        "bcsi:identity": {"mode": "existing", "user": {"userPrincipalName": "bcintegration@contoso.com"},
                          "app": {"appId": APP}},
        "bcsi:licenses": {SALES: {"users": list(licence_users)}},
        "bcsi:roles": {"Integration Administrator": ["integration"],
                       "Integration User": ["integration", "ann@contoso.com"],
                       "Product Availability User": list(pau)},
        "bcsi:solution": {"path": SAMPLE},
    }


class Cloud(ProviderCloud):
    def __init__(self, running, project):
        super().__init__(running)
        self.project = project

    def write_stack(self, name: str, config: dict) -> None:
        (self.project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))

    def plan(self, name: str, fmt: str = "json", *options: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "BCSI_SANDBOX_DIR": str(self.running.data_dir)}
        return subprocess.run([BCSI, "plan", "--stack", name, "--format", fmt, "--project-dir", str(self.project),
                               *options], env=env, capture_output=True, text=True, timeout=300)

    def converge(self, name: str) -> None:
        """Apply the stack's Dataverse side with the resources' own providers (what `up` runs); the licences of
        the 1,000 users are seeded (assigning them through the sandbox takes minutes, see tests/sandbox/provisioning/test_licenses.py)."""
        settings = load_stack(self.project, name)
        IntegrationSolutionProvider().create(self.solution_props(self.project / SAMPLE))
        ApplicationUserProvider().create(self.props(appId=APP))
        for role, members in settings.roles.items():
            RoleAssignmentProvider().create(self.props(roleName=role, roleId=None if role.startswith("Product")
                                                       else _fixed(role), principals=role_principals(members),
                                                       integrationPrincipal=classify(APP)))


def _fixed(role):
    from mscloud.wellknown import fixed_role_id
    return fixed_role_id(role)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """A private sandbox with 1,000 more users holding a Sales licence, and a project dir for plan's stacks."""
    base = tmp_path_factory.mktemp("plan")
    seed = seed_with_licensed_users(BULK, SALES)
    for app in seed["identity"]["apps"]:   # the integration app as freshly registered: no credential, access, consent
        if app["appId"] == APP:
            for key in ("secret", "businessCentralRoles", "dataverseScopes"):
                app.pop(key, None)
    (base / "seed.yaml").write_text(yaml.safe_dump(seed))
    project = base / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "solutions").mkdir()
    shutil.copy(ROOT / SAMPLE, project / SAMPLE)
    running = start_sandbox(base / "data", seed=base / "seed.yaml")
    try:
        yield Cloud(running, project)
    finally:
        running.stop()


def changes_of(proc) -> list[tuple]:
    assert proc.returncode in (0, 2), proc.stderr
    return sorted((c["action"], c["kind"], c["principal"], c["target"]) for c in json.loads(proc.stdout)["changes"])


def test_before_the_solution_exists_every_configured_holder_is_a_grant(cloud):
    cloud.write_stack("small", stack_config(["ann@contoso.com", *BULK], ["ann@contoso.com", "bob@contoso.com"]))
    proc = cloud.plan("small")
    assert proc.returncode == 2, proc.stderr
    data = json.loads(proc.stdout)
    assert data["stack"] == "small"
    assert changes_of(proc) == sorted([
        ("grant", "license", "ann@contoso.com", SALES),
        ("grant", "role", APP, "Integration Administrator"),
        ("grant", "role", APP, "Integration User"),
        ("grant", "role", "ann@contoso.com", "Integration User"),
        ("grant", "role", "ann@contoso.com", "Product Availability User"),
        ("grant", "role", "bob@contoso.com", "Product Availability User"),
    ])
    scopes = {c["kind"]: c["scope"] for c in data["changes"]}
    assert scopes == {"license": cloud.running.endpoints["tenant_id"], "role": cloud.url}


def test_no_change_at_1000_users_within_15_requests_tokens_included(cloud):
    cloud.write_stack("bulk", stack_config(BULK, BULK))
    cloud.converge("bulk")
    cloud.running.reset_metrics()
    proc = cloud.plan("bulk")
    metrics = cloud.running.metrics()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == {"stack": "bulk", "changes": []}
    assert metrics["total"] <= 15, metrics["requests"]
    assert metrics["writes"] == 0
    table = cloud.plan("bulk", "table")
    assert table.returncode == 0 and "no changes" in table.stdout


def test_member_files_plan_like_inline_lists_and_validate(cloud):
    """Member lists from files (`{file: path}`, one principal per line) plan exactly as the same lists inline."""
    members = cloud.project / "members"
    members.mkdir(exist_ok=True)
    (members / "bulk.txt").write_text("# every bulk user\n" + "\n".join(BULK) + "\n")
    config = stack_config(BULK, BULK)
    config["bcsi:licenses"][SALES]["users"] = config["bcsi:roles"]["Product Availability User"] = {"file": "members/bulk.txt"}
    cloud.write_stack("files", config)
    validate = subprocess.run([BCSI, "validate", "--stack", "files", "--project-dir", str(cloud.project)],
                              capture_output=True, text=True, timeout=120)
    assert validate.returncode == 0, validate.stderr
    cloud.converge("files")
    proc = cloud.plan("files")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (members / "bulk.txt").write_text("\n".join(BULK[1:]) + "\nann@contoso.com\n")
    assert changes_of(cloud.plan("files")) == [("grant", "license", "ann@contoso.com", SALES),
                                               ("grant", "role", "ann@contoso.com", "Product Availability User"),
                                               ("revoke", "role", BULK[0], "Product Availability User")]


def test_drift_and_settings_changes_show_as_grants_and_revokes(cloud):
    cloud.write_stack("bulk", stack_config(BULK, BULK))
    dataverse = cloud.dataverse
    carla = dataverse.list("systemusers", select=["systemuserid"], filter="domainname eq 'carla@contoso.com'")[0]
    pau = {"roleid": "e1f0c3a4-5b6d-4c7e-8f90-a1b2c3d4e5f6"}   # the sample package declares this id (solutions/README.md)
    dataverse.associate("systemusers", carla["systemuserid"], "systemuserroles_association", "roles", pau["roleid"])
    graph = cloud.clients.graph
    sku_id = next(s["skuId"] for s in graph.list("/subscribedSkus") if s["skuPartNumber"] == SALES)
    graph.post("/users/user0002@contoso.com/assignLicense", {"addLicenses": [], "removeLicenses": [sku_id]})
    # settings: user0001 loses Product Availability User and the licence
    cloud.write_stack("bulk", stack_config(BULK[1:], BULK[1:]))
    proc = cloud.plan("bulk")
    assert proc.returncode == 2
    assert changes_of(proc) == sorted([
        ("revoke", "role", "carla@contoso.com", "Product Availability User"),   # a holder the settings do not list
        ("revoke", "role", "user0001@contoso.com", "Product Availability User"),
        ("grant", "license", "user0002@contoso.com", SALES),                     # drift: removed outside the stack
    ])  # user0001's licence: no previous stack outputs here, so the stack did not assign it (see next test)

    settings = load_stack(cloud.project, "bulk")
    plan = make_plan(settings, "bulk", cloud.conn, {"licenseAssignments": {SALES: BULK}})
    assert ("revoke", "license", "user0001@contoso.com", SALES) in [
        (c.action, c.kind, c.principal, c.target) for c in plan.changes]
    markdown = cloud.plan("bulk", "markdown")
    assert markdown.returncode == 2
    assert markdown.stdout.splitlines()[0] == "**bcsi plan — stack bulk: 1 grant, 2 revokes**"


def managed_config() -> dict:
    config = stack_config([], [])
    config["bcsi:identity"] = {"mode": "manage", "app": {"displayName": "Business Central - Sales integration",
                                                          "credential": "secret", "secretExpiryDays": 30}}
    config["bcsi:roles"] = {"Integration Administrator": ["integration"]}
    del config["bcsi:licenses"]
    return config


def test_managed_app_registration_permissions_and_credential(cloud):
    """Identity mode manage: the app found by display name; its permissions and secret become grants until present."""
    settings = parse(managed_config(), "stacks/Pulumi.manage.yaml")
    graph = cloud.clients.graph
    got = {(c.action, c.kind, c.principal, c.target) for c in make_plan(settings, "manage", cloud.conn).changes}
    assert got == {
        ("grant", "api-permission", APP, "Dynamics CRM user_impersonation (delegated)"),
        ("grant", "api-permission", APP, "Dynamics 365 Business Central API.ReadWrite.All (application)"),
        ("grant", "credential", APP, "client secret 'bcsi integration' (30 days)"),
    }   # the app user already holds Integration Administrator (converged above)

    app = graph.list("/applications", params={"$filter": f"appId eq '{APP}'"})[0]
    graph.patch(f"/applications/{app['id']}", {"requiredResourceAccess": [
        {"resourceAppId": "00000007-0000-0000-c000-000000000000",
         "resourceAccess": [{"id": "78ce3f0f-a1ce-49c2-8cde-64b5c0896db4", "type": "Scope"}]},
        {"resourceAppId": "996def3d-b36c-4153-8607-a6fd3c01b89f",
         "resourceAccess": [{"id": "a42b0b75-311e-488d-b67e-8fe84f924341", "type": "Role"}]},
        {"resourceAppId": "00000003-0000-0000-c000-000000000000",
         "resourceAccess": [{"id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role"}]}]})
    graph.post(f"/applications/{app['id']}/addPassword", {"passwordCredential": {"displayName": "bcsi integration"}})
    sps = {s["appId"]: s["id"] for s in graph.list("/servicePrincipals", params={"$select": "id,appId"})}
    own = sps[APP]
    graph.post("/oauth2PermissionGrants", {"clientId": own, "consentType": "AllPrincipals",
                                           "resourceId": sps["00000007-0000-0000-c000-000000000000"],
                                           "scope": "user_impersonation"})
    graph.post(f"/servicePrincipals/{own}/appRoleAssignments", {
        "principalId": own, "resourceId": sps["996def3d-b36c-4153-8607-a6fd3c01b89f"],
        "appRoleId": "a42b0b75-311e-488d-b67e-8fe84f924341"})
    got = {(c.action, c.kind, c.principal, c.target) for c in make_plan(settings, "manage", cloud.conn).changes}
    assert got == {
        ("revoke", "api-permission", APP,
         "00000003-0000-0000-c000-000000000000/df021288-bdef-4463-88db-98f22de89214 (requested)")}


def test_managed_secret_expiring_within_the_window_is_a_rotation_grant(cloud):
    """The stack's secret still valid but ending in 10 days: a credential grant naming its end, as `bcsi check` warns;
    a window shorter than 10 days, or another secret of the stack lasting longer, means nothing is due."""
    graph = cloud.clients.graph
    app = graph.list("/applications", params={"$filter": f"appId eq '{APP}'"})[0]
    for credential in app.get("passwordCredentials") or ():
        graph.post(f"/applications/{app['id']}/removePassword", {"keyId": credential["keyId"]})
    now = datetime.now(timezone.utc)
    ends = now + timedelta(days=10)
    added = cloud.running.session().post(f"/_sandbox/apps/{APP}/credentials", json={"passwordCredential": {
        "secret": secrets.token_urlsafe(24), "displayName": "bcsi integration",
        "startDateTime": now.isoformat(), "endDateTime": ends.isoformat()}})
    assert added.status_code == 201, added.text
    target = f"client secret 'bcsi integration' (30 days): rotation due, current one expires {ends.date().isoformat()}"
    cloud.write_stack("manage", managed_config())

    proc = cloud.plan("manage")
    assert proc.returncode == 2, proc.stderr
    data = json.loads(proc.stdout)
    assert {"action": "grant", "kind": "credential", "principal": APP, "target": target,
            "scope": cloud.running.endpoints["tenant_id"]} in data["changes"]
    assert all(set(c) == {"action", "kind", "principal", "target", "scope"} for c in data["changes"])
    short = cloud.plan("manage", "json", "--credential-window-days", "5")
    assert short.returncode in (0, 2), short.stderr
    assert [c for c in json.loads(short.stdout)["changes"] if c["kind"] == "credential"] == []

    ours = graph.list("/applications", params={"$filter": f"appId eq '{APP}'"})[0]["passwordCredentials"]
    assert [r.result for r in credential_results("app", {"passwordCredentials": ours}, [], now, 30)] == [WARN]

    graph.post(f"/applications/{app['id']}/addPassword", {"passwordCredential": {"displayName": "bcsi integration"}})
    settings = load_stack(cloud.project, "manage")
    assert [c for c in make_plan(settings, "manage", cloud.conn).changes if c.kind == "credential"] == []
