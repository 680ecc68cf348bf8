"""The Dataverse resources of solution_import through the real Pulumi engine, against a private sandbox:
up, a no-change preview, a member change, drift seen by refresh, destroy."""
import textwrap
from pathlib import Path

import pytest

from mscloud.connection import clients_for, connection
from tests.enginekit import Stack, python_project
from tests.sandboxkit import start_sandbox

pytestmark = [pytest.mark.engine, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "solutions" / "BcSalesIntegrationSample_1_0_0_0.zip"
INTEGRATION_USER_ROLE = "6f960e32-a72b-e511-80d9-3863bb349780"

PROGRAM = textwrap.dedent(
    '''
    import pulumi
    from mscloud.connection import connection
    from solution_import.members import classify
    from solution_import.roles import RoleAssignment
    from solution_import.solution import IntegrationSolution
    from solution_import.users import ApplicationUser, IntegrationUserAccess

    INTEGRATION_APP = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
    config = pulumi.Config()
    conn = connection("sandbox", sandbox_dir=config.require("sandboxDir"))
    url = config.require("dataverseUrl")

    solution = IntegrationSolution("solution", connection=conn, environment_url=url,
                                   package_path=config.require("package"), uninstall_on_delete=True)
    app_user = ApplicationUser("app-user", connection=conn, environment_url=url, app_id=INTEGRATION_APP)
    access = IntegrationUserAccess("integration-access", connection=conn, environment_url=url,
                                   user_principal_name="bcintegration@contoso.com")
    role = RoleAssignment("integration-user", connection=conn, environment_url=url, role_name="Integration User",
                          principals=[classify(p) for p in config.require_object("members")],
                          integration_principal={"type": "application", "key": INTEGRATION_APP},
                          opts=pulumi.ResourceOptions(depends_on=[solution, app_user]))
    pulumi.export("solution", {"uniqueName": solution.uniqueName, "version": solution.installedVersion})
    pulumi.export("members", role.members)
    '''
)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with start_sandbox(tmp_path_factory.mktemp("connection-engine") / "data") as sandbox:
        yield sandbox


def holders(running) -> list[str]:
    dataverse = clients_for(connection("sandbox", sandbox_dir=running.data_dir)).dataverse(
        running.endpoints["dataverse"])
    rows = dataverse.list(f"roles({INTEGRATION_USER_ROLE})/systemuserroles_association",
                          select=["domainname", "applicationid"])
    return sorted((r.get("applicationid") or r["domainname"]).lower() for r in rows)


def connection_stack(tmp_path, running, package) -> Stack:
    """The connection program's stack on `running`, importing `package`, with `integration` as its one role member."""
    stack = Stack(python_project(tmp_path / "proj", "connection", PROGRAM), "sandbox", tmp_path / "state")
    stack.init()
    stack.run("config", "set", "sandboxDir", str(running.data_dir))
    stack.run("config", "set", "dataverseUrl", running.endpoints["dataverse"])
    stack.run("config", "set", "package", str(package))
    stack.run("config", "set", "--path", "members[0]", "integration")
    return stack


def test_connection_resources_through_the_engine(tmp_path, running):
    stack = connection_stack(tmp_path, running, PACKAGE)

    up = stack.run("up", "--yes")
    assert "import: succeeded" in up.stdout
    outputs = stack.outputs()
    assert outputs["solution"] == {"uniqueName": "BcSalesIntegrationSample", "version": "1.0.0.0"}
    app = "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37"
    assert holders(running) == [app]

    running.reset_metrics()
    stack.run("preview", "--expect-no-changes")
    assert running.metrics()["writes"] == 0

    stack.run("config", "set", "--path", "members[1]", "ann@contoso.com")
    preview = stack.run("preview", "--diff")
    assert "ann@contoso.com" in preview.stdout
    stack.run("up", "--yes")
    assert holders(running) == [app, "ann@contoso.com"]

    # out-of-band change: carla gets the role by hand; refresh sees it, the next up takes it away again
    dataverse = clients_for(connection("sandbox", sandbox_dir=running.data_dir)).dataverse(
        running.endpoints["dataverse"])
    carla = dataverse.list("systemusers", select=["systemuserid"], filter="domainname eq 'carla@contoso.com'")[0]
    dataverse.associate("systemusers", carla["systemuserid"], "systemuserroles_association", "roles",
                        INTEGRATION_USER_ROLE)
    stack.run("refresh", "--yes")
    drift = stack.run("preview", "--expect-no-changes", check=False)
    assert drift.returncode != 0
    stack.run("up", "--yes")
    assert holders(running) == [app, "ann@contoso.com"]

    state = "".join(p.read_text() for p in (tmp_path / "state").rglob("*.json"))
    assert running.endpoints["client_secret"] not in state, "no secret may reach the state"

    stack.run("destroy", "--yes")
    assert dataverse.list("solutions", select=["version"], filter="uniquename eq 'BcSalesIntegrationSample'") == []
    assert dataverse.list("systemusers", select=["systemuserid"], filter=f"applicationid eq {app}") == []
    integration = dataverse.list("systemusers", select=["accessmode"], filter="domainname eq 'bcintegration@contoso.com'")
    assert integration[0]["accessmode"] == 0


def test_a_missing_package_stops_the_preview_with_one_line(tmp_path, running):
    stack = connection_stack(tmp_path, running, tmp_path / "missing.zip")
    preview = stack.run("preview", check=False)
    assert preview.returncode != 0
    output = preview.stdout + preview.stderr
    assert f"solution package not found: {tmp_path / 'missing.zip'}" in output
    assert "Traceback" not in output
