"""DataverseConnection: the Dataverse side of one environment as one component, in the order BC needs it.

solution import -> application user for the integration app -> integration user set to non-interactive ->
one RoleAssignment per role. The roles depend on the import (the solution brings the integration roles) and on
both users (a role can only be given to a systemuser that exists). Licences are waited for only where a user they
license is given something (Dataverse adds a user once licensed); the application user needs none, so the engine
runs it, and roles of unlicensed principals, alongside the licences.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

import pulumi

from mscloud.wellknown import INTEGRATION, USER
from solution_import.members import classify
from solution_import.package import read_package
from solution_import.role_lookup import package_role_ids, role_lookup
from solution_import.roles import RoleAssignment
from solution_import.solution import IntegrationSolution
from solution_import.users import ApplicationUser, IntegrationUserAccess


@dataclass
class DataverseConnectionArgs:
    connection: dict                       # mscloud.connection.connection(...): secret-free
    environment_url: str                   # the Dataverse org URL
    solution_path: str                     # the integration solution package (.zip)
    roles: dict[str, list[str]]            # bcsi:roles: role name -> principals (UPN, app id or `integration`)
    integration_principal: pulumi.Input[str] | None = None   # what `integration` stands for (app id or UPN)
    app_id: pulumi.Input[str] | None = None                  # the integration app: gets an application user
    integration_user: str | None = None                      # the integration user: set to non-interactive
    uninstall_on_delete: bool = False
    import_timeout_seconds: int = 600
    after: list = dataclass_field(default_factory=list)   # LicenseGates (or resources everything waits for)


@dataclass(frozen=True)
class LicenseGate:
    """A licence resource and whom it licenses. Dataverse adds a user only after the licence ("When you create a
    user and assign a license ..., the user is also created in customer engagement apps",
    https://learn.microsoft.com/power-platform/admin/create-users), so giving that user anything waits for it."""

    resource: pulumi.Resource
    users: frozenset[str]            # UPNs, lower-case
    groups: bool = False             # it licenses groups too: their members are not known to the program

    def may_license(self, upns: list[str]) -> bool:
        return bool(upns) and (self.groups or not self.users.isdisjoint(u.lower() for u in upns))


def licenses_for(upns, after: list) -> list:
    """The resources a Dataverse change for these users waits for: the licences that may license one of them, and
    every plain resource in `after`. The application user is unlicensed ("a special unlicensed application user
    account", https://learn.microsoft.com/power-apps/developer/data-platform/build-web-applications-server-server-s2s-authentication)."""
    upns = list(upns)
    return [item.resource if isinstance(item, LicenseGate) else item for item in after
            if not isinstance(item, LicenseGate) or item.may_license(upns)]


def role_principals(members) -> list[dict]:
    """A `bcsi:roles` list as RoleAssignment principals; `integration` stays a placeholder the resource resolves."""
    return [classify(m) for m in members]


def resource_suffix(role_name: str) -> str:
    """A stable, readable Pulumi name part for a role: `Integration User` -> `integration-user`."""
    return "-".join(role_name.lower().split())


class DataverseConnection(pulumi.ComponentResource):
    """Outputs: solution {uniqueName, version}, applicationUserId, roles {role name: RoleAssignment}."""

    def __init__(self, name: str, args: DataverseConnectionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bcsi:index:DataverseConnection", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common = {"connection": args.connection, "environment_url": args.environment_url}

        self.solution = IntegrationSolution(
            f"{name}-solution", package_path=args.solution_path, uninstall_on_delete=args.uninstall_on_delete,
            import_timeout_seconds=args.import_timeout_seconds, opts=child, **common)

        def after_import(upns=()):
            return pulumi.ResourceOptions(parent=self, depends_on=[self.solution, *licenses_for(upns, args.after)])

        users: list[pulumi.Resource] = [self.solution]
        self.application_user = None
        if args.app_id is not None:
            self.application_user = ApplicationUser(f"{name}-application-user", app_id=args.app_id,
                                                    opts=after_import(), **common)
            users.append(self.application_user)
        self.integration_user_access = None
        if args.integration_user:
            self.integration_user_access = IntegrationUserAccess(
                f"{name}-integration-user", user_principal_name=args.integration_user,
                opts=after_import([args.integration_user]), **common)
            users.append(self.integration_user_access)

        integration = (pulumi.Output.from_input(args.integration_principal).apply(classify)
                       if args.integration_principal is not None else None)
        declared = package_role_ids(read_package(args.solution_path).roles)
        self.roles: dict[str, RoleAssignment] = {}
        for role_name in sorted(args.roles):
            principals = role_principals(args.roles[role_name])
            upns = [p["key"] for p in principals if p["type"] == USER and p["key"] != INTEGRATION]   # via its user
            self.roles[role_name] = RoleAssignment(
                f"{name}-role-{resource_suffix(role_name)}", role_name=role_name,
                role_id=next(iter(role_lookup(role_name, declared).ids), None),
                principals=principals, integration_principal=integration,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*users, *licenses_for(upns, args.after)]),
                **common)

        self.solution_info = pulumi.Output.all(self.solution.uniqueName, self.solution.version).apply(
            lambda uv: {"uniqueName": uv[0], "version": uv[1]})
        self.role_holders = pulumi.Output.all(
            **{role: res.members for role, res in self.roles.items()}).apply(_principal_keys) \
            if self.roles else pulumi.Output.from_input({})
        self.register_outputs({"solution": self.solution_info, "roleAssignments": self.role_holders})


def _principal_keys(members_by_role: dict) -> dict[str, list[str]]:
    """{role: [principal, ...]} as the stack output roleAssignments shows them: UPNs and app ids, sorted."""
    return {role: sorted(str(m["key"]) for m in (members or [])) for role, members in members_by_role.items()}
