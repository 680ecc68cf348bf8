"""The policy pack: wires the plain rule functions of `policies.rules` into CrossGuard policies."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the pack runs from its own folder

from pulumi_policy import (  # noqa: E402
    EnforcementLevel, PolicyConfigSchema, PolicyPack, ResourceValidationPolicy, StackValidationPolicy,
)

from policies import config as policy_config  # noqa: E402
from policies import rules  # noqa: E402

STRINGS = {"type": "array", "items": {"type": "string"}}
# What each policy accepts in the pack config (`--policy-pack-config`); no schema defaults, so the code can
# tell "unset" (fall back to bcsi:policy, then the built-in default) from a value.
CONFIG_SCHEMAS = {
    "no-builtin-admin-roles": {"forbiddenRoles": {**STRINGS, "description": "more role names to forbid"}},
    "app-credential-max-lifetime": {"maxCredentialDays": {"type": "integer", "minimum": 1,
                                                          "description": "default 180"}},
    "prod-no-client-secrets": {"environmentKind": {"type": "string", "enum": ["dev", "test", "prod"]}},
    "license-sku-allow-list": {"allowedSkus": {**STRINGS, "description": "SKU part numbers"}},
    "principals-in-verified-domains": {"verifiedDomains": STRINGS},
    "role-assignment-shrink": {"maxShrinkPercent": {"type": "number", "minimum": 0, "maximum": 100,
                                                    "description": "default 50"},
                               "previousRoleAssignments": {"type": "object",
                                                           "description": "stack output roleAssignments"}},
}
DESCRIPTIONS = {name: (fn.__doc__ or name).strip() for name, fn in
                {**rules.MANDATORY_RESOURCE_RULES, **rules.ADVISORY_STACK_RULES}.items()}


def settings(args) -> dict:
    return policy_config.effective(args.get_config(), policy_config.stack_policy_settings(),
                                   policy_config.stack_name())


def _schema(name: str):
    properties = CONFIG_SCHEMAS.get(name)
    return PolicyConfigSchema(properties=properties) if properties else None


def resource_policy(name: str, rule) -> ResourceValidationPolicy:
    def validate(args, report_violation):
        try:
            messages = rule(args.resource_type, args.props, settings(args))
        except rules.NotApplicable as skipped:
            args.not_applicable(skipped.reason)
            return
        for message in messages:
            report_violation(f"{args.name}: {message}")

    return ResourceValidationPolicy(name=name, description=DESCRIPTIONS[name], validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY, config_schema=_schema(name))


def stack_policy(name: str, rule) -> StackValidationPolicy:
    def validate(args, report_violation):
        resources = [(r.resource_type, r.props) for r in args.resources]
        try:
            messages = rule(resources, settings(args))
        except rules.NotApplicable as skipped:
            args.not_applicable(skipped.reason)
            return
        for message in messages:
            report_violation(message)

    return StackValidationPolicy(name=name, description=DESCRIPTIONS[name], validate=validate,
                                 enforcement_level=EnforcementLevel.ADVISORY, config_schema=_schema(name))


PolicyPack(
    name="bcsi-policies",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[resource_policy(n, r) for n, r in rules.MANDATORY_RESOURCE_RULES.items()]
    + [stack_policy(n, r) for n, r in rules.ADVISORY_STACK_RULES.items()],
)
