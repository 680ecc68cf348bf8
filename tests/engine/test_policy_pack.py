"""The policy pack through the real engine: `pulumi preview --policy-pack policies` on throw-away stacks that
declare resources with our type tokens and inputs. One stack passes every rule; one trips them all.

Dynamic resources get a provider that does nothing (preview never creates). The azuread provider plugin cannot
be installed here, so these stacks declare no azuread resource: the credential rules run through the engine on
the program's own `CredentialWindow` (the client secret's validity window), and their azuread branches are
covered by the rule-function unit tests fed with the resources the identity component declares under set_mocks.
"""
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.enginekit import ROOT, Stack, python_project

pytestmark = pytest.mark.engine

PACK = ROOT / "policies"
APP = "11111111-2222-3333-4444-555555555555"

PROGRAM = textwrap.dedent(
    '''
    import json
    import pulumi
    from pulumi.dynamic import CreateResult, Resource, ResourceProvider


    class Nothing(ResourceProvider):
        def create(self, props):
            return CreateResult(id_="none", outs=props)


    def bcsi(type_name):
        return type(type_name, (Resource,), {"__init__": lambda self, name, props: Resource.__init__(
            self, Nothing(), name, props)}, module="bcsi", name=type_name)


    KINDS = {kind: bcsi(kind) for kind in ("RoleAssignment", "LicenseAssignment", "CredentialWindow")}


    def principals(*keys):
        return [{"type": "user" if "@" in k else "application", "key": k} for k in keys]


    integration = {"type": "application", "key": "APP"}
    for spec in json.loads(pulumi.Config().require("resources")):
        kind, name, props = spec
        if kind == "RoleAssignment":
            props = {"connection": {"cloud": "sandbox"}, "environmentUrl": "https://org.example",
                     "roleId": None, **props, "principals": principals(*props["principals"]),
                     "integrationPrincipal": integration}
        KINDS[kind](name, props)
    '''
).replace("APP", APP)

PASSING = [
    ["RoleAssignment", "integration-admin", {"roleName": "Integration Administrator", "principals": ["integration"]}],
    ["RoleAssignment", "integration-user", {"roleName": "Integration User",
                                            "principals": ["integration", "ann@contoso.com"]}],
    ["RoleAssignment", "availability", {"roleName": "Product Availability User", "principals": ["ann@contoso.com"]}],
    ["LicenseAssignment", "sales", {"skuPartNumber": "DYN365_ENTERPRISE_SALES", "users": ["ann@contoso.com"],
                                    "groups": [], "disabledPlans": [], "availableUnits": 3}],
    ["CredentialWindow", "secret-window", {"days": 30}],
]

FAILING = [
    ["RoleAssignment", "integration-admin", {"roleName": "Integration Administrator",
                                             "principals": ["integration", "ann@contoso.com"]}],
    ["RoleAssignment", "sysadmin", {"roleName": "System Administrator", "principals": ["bob@contoso.com"]}],
    ["RoleAssignment", "integration-user", {"roleName": "Integration User", "principals": ["integration"]}],
    ["RoleAssignment", "availability", {"roleName": "Product Availability User", "principals": []}],
    ["LicenseAssignment", "e5", {"skuPartNumber": "SPE_E5", "users": ["eve@fabrikam.com"], "groups": [],
                                 "disabledPlans": [], "availableUnits": 0}],
    ["CredentialWindow", "secret-window", {"days": 365}],
    ["RoleAssignment", "guest", {"roleName": "Integration User", "principals": ["mallory@fabrikam.com"]}],
]

# policy name -> a message it must print for the failing stack (each names the resource and the principal)
EXPECTED = {
    "integration-admin-only-for-integration-principal":
        "integration-admin: role 'Integration Administrator' is given to user 'ann@contoso.com'",
    "no-builtin-admin-roles": "sysadmin: role 'System Administrator' is a built-in admin role and may not be "
                              "handed out: given to user 'bob@contoso.com'",
    "app-credential-max-lifetime": "secret-window: client secret validity window of 365 days: the maximum is 90 days",
    "prod-no-client-secrets": "secret-window: client secret for its application in a prod stack",
    "license-sku-allow-list": "e5: licence SKU 'SPE_E5' is not on the allow-list",
    "license-units-not-exceeded": "e5: licence SKU 'SPE_E5' is assigned to 1 users ('eve@fabrikam.com') but only "
                                  "0 units are available",
    "principals-in-verified-domains": "guest: user 'mallory@fabrikam.com' is outside the tenant's verified "
                                      "domains (contoso.com)",
    "role-assignment-shrink": "role 'Integration User' loses 2 of 3 holders (67% > 50%): ann@contoso.com, "
                              "bob@contoso.com",
    "product-availability-users-present": "role 'Product Availability User' has no principals",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    base = tmp_path_factory.mktemp("policy-pack")
    directory = python_project(base / "proj", "policytest", PROGRAM)
    return directory, base


def preview(project, stack_name, resources, stack_policy, pack_config):
    directory, base = project
    stack = Stack(directory, stack_name, base / "state")
    stack.init()
    (directory / f"Pulumi.{stack_name}.yaml").write_text(
        "config:\n  policytest:resources: " + json.dumps(json.dumps(resources)) + "\n"
        "  bcsi:policy: " + json.dumps(stack_policy) + "\n")
    config_file = base / f"{stack_name}-pack.json"
    config_file.write_text(json.dumps(pack_config))
    result = stack.run("preview", "--policy-pack", str(PACK), "--policy-pack-config", str(config_file), check=False)
    return result.returncode, result.stdout + result.stderr


def test_passing_stack_previews_clean(project):
    code, output = preview(project, "dev", PASSING, {"environmentKind": "dev"}, {
        "principals-in-verified-domains": {"verifiedDomains": ["contoso.com"]},
        "role-assignment-shrink": {"previousRoleAssignments": {
            "Integration User": [APP, "ann@contoso.com"], "Product Availability User": ["ann@contoso.com"]}},
    })
    assert code == 0, output
    for name in EXPECTED:
        assert name not in output, output


def test_failing_stack_trips_every_rule(project):
    code, output = preview(project, "prod", FAILING, {"environmentKind": "prod", "maxCredentialDays": 90}, {
        "principals-in-verified-domains": {"verifiedDomains": ["contoso.com"]},
        "role-assignment-shrink": {"previousRoleAssignments": {
            "Integration User": [APP, "ann@contoso.com", "bob@contoso.com"]}},
    })
    assert code != 0, output
    flat = " ".join(output.split())
    missing = {name: message for name, message in EXPECTED.items() if name not in flat or message not in flat}
    assert not missing, output
