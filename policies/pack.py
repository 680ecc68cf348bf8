"""Wires the plain rule functions of `policies.rules` into CrossGuard policies (the pack's `__main__` serves them)."""
from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, StackValidationPolicy

from policies import config as policy_config
from policies import rules

STRINGS = {"type": "array", "items": {"type": "string"}}
# What each policy accepts in the pack config (`--policy-pack-config`). No schema defaults: the engine would fill
# them in, and the code must tell "unset" (fall back to bcsi:policy, then the built-in default) from a value.
CONFIG_SCHEMAS = {
    "no-builtin-admin-roles": {"forbiddenRoles": {**STRINGS, "description": "more role names to forbid"}},
    "app-credential-max-lifetime": {"maxCredentialDays": {"type": "integer", "minimum": 1,
                                                          "description": "default 180"}},
    "prod-no-client-secrets": {"environmentKind": {"type": "string", "enum": list(policy_config.ENVIRONMENT_KINDS)}},
    "license-sku-allow-list": {"allowedSkus": {**STRINGS, "description": "SKU part numbers"}},
    "principals-in-verified-domains": {"verifiedDomains": STRINGS},
    "role-assignment-shrink": {"maxShrinkPercent": {"type": "number", "minimum": 0, "maximum": 100,
                                                    "description": "default 50"},
                               "previousRoleAssignments": {"type": "object",
                                                           "description": "stack output roleAssignments"}},
}


def _description(rule) -> str:
    return " ".join((rule.__doc__ or "").split())


def _schema(name: str) -> PolicyConfigSchema | None:
    properties = CONFIG_SCHEMAS.get(name)
    return PolicyConfigSchema(properties=properties) if properties else None


def _run(args, report_violation, judge, prefix: str = "") -> None:
    """Runs one rule: messages become violations, NotApplicable a not-applicable note, a bad setting one line."""
    try:
        settings = policy_config.effective(args.get_config(), policy_config.stack_policy_settings(),
                                           policy_config.stack_name())
        messages = judge(settings)
    except rules.NotApplicable as skipped:
        args.not_applicable(skipped.reason)
        return
    except policy_config.PolicyConfigError as error:
        report_violation(f"policy settings: {error}")
        return
    for message in messages:
        report_violation(f"{prefix}{message}")


def resource_policy(name: str, rule) -> ResourceValidationPolicy:
    def validate(args, report_violation):
        _run(args, report_violation, lambda settings: rule(args.resource_type, args.props, settings), f"{args.name}: ")

    return ResourceValidationPolicy(name=name, description=_description(rule), validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY, config_schema=_schema(name))


def stack_policy(name: str, rule) -> StackValidationPolicy:
    def validate(args, report_violation):
        resources = [(r.resource_type, r.props) for r in args.resources]
        _run(args, report_violation, lambda settings: rule(resources, settings))

    return StackValidationPolicy(name=name, description=_description(rule), validate=validate,
                                 enforcement_level=EnforcementLevel.ADVISORY, config_schema=_schema(name))


def policies() -> list:
    return ([resource_policy(n, r) for n, r in rules.MANDATORY_RESOURCE_RULES.items()]
            + [stack_policy(n, r) for n, r in rules.ADVISORY_STACK_RULES.items()])
