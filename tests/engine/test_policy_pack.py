"""The policy pack through the real engine: `pulumi preview --policy-pack policies` on throw-away stacks that
declare resources with our type tokens and inputs. One stack passes every rule; one trips them all.

Dynamic resources get a provider that does nothing (preview never creates). The azuread resources need an
`azuread` provider plugin, which cannot be built here: a stand-in plugin that only echoes inputs
(`pulumi-resource-azuread` on PATH, an ambient plugin) lets the engine preview them.
"""
import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from tests.enginekit import ROOT, Stack, python_project

pytestmark = pytest.mark.engine

PACK = ROOT / "policies"
APP = "11111111-2222-3333-4444-555555555555"

FAKE_AZUREAD = textwrap.dedent(
    '''
    """A stand-in azuread provider plugin for previews: accepts any inputs and changes nothing."""
    import sys
    from concurrent import futures

    import grpc
    from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc


    class Echo(provider_pb2_grpc.ResourceProviderServicer):
        def GetPluginInfo(self, request, context):
            return plugin_pb2.PluginInfo(version="6.11.1")

        def CheckConfig(self, request, context):
            return provider_pb2.CheckResponse(inputs=request.news)

        def DiffConfig(self, request, context):
            return provider_pb2.DiffResponse()

        def Configure(self, request, context):
            return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True)

        def Check(self, request, context):
            return provider_pb2.CheckResponse(inputs=request.news)

        def Diff(self, request, context):
            return provider_pb2.DiffResponse()

        def Create(self, request, context):
            return provider_pb2.CreateResponse(id="", properties=request.properties)


    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Echo(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()
    '''
)

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


    RoleAssignment, LicenseAssignment = bcsi("RoleAssignment"), bcsi("LicenseAssignment")


    def azuread(token, name, props):
        return pulumi.CustomResource(f"azuread:index/{token}", name, props)


    def principals(*keys):
        return [{"type": "user" if "@" in k else "application", "key": k} for k in keys]


    integration = {"type": "application", "key": "APP"}
    for spec in json.loads(pulumi.Config().require("resources")):
        kind, name, props = spec
        if kind in ("RoleAssignment", "LicenseAssignment"):
            if kind == "RoleAssignment":
                props = {"connection": {"cloud": "sandbox"}, "environmentUrl": "https://org.example",
                         "roleId": None, **props, "principals": principals(*props["principals"]),
                         "integrationPrincipal": integration}
            (RoleAssignment if kind == "RoleAssignment" else LicenseAssignment)(name, props)
        else:
            azuread(kind, name, props)
    '''
).replace("APP", APP)

PASSING = [
    ["RoleAssignment", "integration-admin", {"roleName": "Integration Administrator", "principals": ["integration"]}],
    ["RoleAssignment", "integration-user", {"roleName": "Integration User",
                                            "principals": ["integration", "ann@contoso.com"]}],
    ["RoleAssignment", "availability", {"roleName": "Product Availability User", "principals": ["ann@contoso.com"]}],
    ["LicenseAssignment", "sales", {"skuPartNumber": "DYN365_ENTERPRISE_SALES", "users": ["ann@contoso.com"],
                                    "groups": [], "disabledPlans": [], "availableUnits": 3}],
    ["applicationPassword:ApplicationPassword", "secret", {"applicationId": APP, "endDateRelative": "720h"}],
    ["applicationCertificate:ApplicationCertificate", "cert", {"applicationId": APP, "endDateRelative": "2160h",
                                                               "value": "x", "type": "AsymmetricX509Cert"}],
    ["applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential", "pipeline",
     {"applicationId": APP, "displayName": "pipeline", "issuer": "https://token.actions.githubusercontent.com",
      "subject": "repo:contoso/bcsi:environment:prod", "audiences": ["api://AzureADTokenExchange"]}],
    ["user:User", "svc", {"userPrincipalName": "svc@contoso.com", "displayName": "Integration"}],
]

FAILING = [
    ["RoleAssignment", "integration-admin", {"roleName": "Integration Administrator",
                                             "principals": ["integration", "ann@contoso.com"]}],
    ["RoleAssignment", "sysadmin", {"roleName": "System Administrator", "principals": ["bob@contoso.com"]}],
    ["RoleAssignment", "integration-user", {"roleName": "Integration User", "principals": ["integration"]}],
    ["RoleAssignment", "availability", {"roleName": "Product Availability User", "principals": []}],
    ["LicenseAssignment", "e5", {"skuPartNumber": "SPE_E5", "users": ["eve@fabrikam.com"], "groups": [],
                                 "disabledPlans": [], "availableUnits": 0}],
    ["applicationPassword:ApplicationPassword", "secret", {"applicationId": APP, "endDateRelative": "8760h"}],
    ["user:User", "guest", {"userPrincipalName": "mallory@fabrikam.com", "displayName": "Guest"}],
]

# policy name -> a message it must print for the failing stack (each names the resource and the principal)
EXPECTED = {
    "integration-admin-only-for-integration-principal":
        "integration-admin: role 'Integration Administrator' is given to user 'ann@contoso.com'",
    "no-builtin-admin-roles": "sysadmin: role 'System Administrator' is a built-in admin role and may not be "
                              "handed out: given to user 'bob@contoso.com'",
    "app-credential-max-lifetime": f"secret: client secret for application '{APP}' is valid for 365 days "
                                   f"(endDateRelative 8760h): the maximum is 90 days",
    "prod-no-client-secrets": f"secret: client secret for application '{APP}' in a prod stack",
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
    plugins = base / "plugins"
    plugins.mkdir()
    plugin = plugins / "pulumi-resource-azuread"
    plugin.write_text(f"#!{ROOT / '.venv' / 'bin' / 'python'}\n{FAKE_AZUREAD}")
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    directory = python_project(base / "proj", "policytest", PROGRAM)
    return directory, base, f"{plugins}{os.pathsep}{os.environ.get('PATH', '')}"


def preview(project, stack_name, resources, stack_policy, pack_config):
    directory, base, path = project
    stack = Stack(directory, stack_name, base / "state", env_extra={"PATH": path})
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
