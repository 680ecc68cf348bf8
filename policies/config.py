"""The settings the rules run with: built-in defaults, the stack's `bcsi:policy`, and the pack config.

Precedence keeps central control: the pack config (written by the platform team or a pipeline step) is
the authority; the stack's `bcsi:policy` may only tighten it (a lower limit, a narrower list), and fills
in what the pack config leaves unset. Built-in defaults apply when neither says anything.
"""
from __future__ import annotations

import functools
import json
import os
from typing import Any, Mapping

DEFAULT_MAX_CREDENTIAL_DAYS = 180
DEFAULT_MAX_SHRINK_PERCENT = 50
# Dynamics 365 Sales plans (Graph `skuPartNumber`): Enterprise, Professional, Premium, their attach
# offers, and Team Members.
DEFAULT_ALLOWED_SKUS = (
    "DYN365_ENTERPRISE_SALES",
    "D365_SALES_PRO",
    "DYN365_SALES_PREMIUM",
    "D365_SALES_ENT_ATTACH",
    "D365_SALES_PRO_ATTACH",
    "DYN365_ENTERPRISE_TEAM_MEMBERS",
)
# Built-in Dataverse roles that make their holder an administrator or let it act as someone else.
DEFAULT_FORBIDDEN_ROLES = ("System Administrator", "System Customizer", "Delegate")
ENVIRONMENT_KINDS = ("dev", "test", "prod")


class PolicyConfigError(ValueError):
    """A pack config or `bcsi:policy` value of the wrong shape."""


def stack_policy_settings(environ: Mapping[str, str] = os.environ) -> dict:
    """The stack's `bcsi:policy` map: the engine hands the stack config to the pack in PULUMI_CONFIG."""
    return dict(_policy_setting(environ.get("PULUMI_CONFIG") or ""))


@functools.lru_cache(maxsize=2)
def _policy_setting(raw: str) -> dict:
    """Parsed once per pack process: PULUMI_CONFIG holds the whole stack config (every licensed user at N = 10,000),
    and every policy asks for it on every resource."""
    if not raw:
        return {}
    value = json.loads(raw).get("bcsi:policy")
    if isinstance(value, str):
        value = json.loads(value)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyConfigError("stack setting bcsi:policy must be a map")
    return value


def stack_name(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("PULUMI_STACK", "")


def _int(source: str, key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise PolicyConfigError(f"{source}: {key} must be a non-negative number, not {value!r}")
    return int(value)


def _names(source: str, key: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise PolicyConfigError(f"{source}: {key} must be a list of strings")
    return tuple(value)


def _tightest(*limits: int | None, default: int) -> int:
    given = [n for n in limits if n is not None]
    return min(given) if given else default


def _narrowest(central: tuple[str, ...] | None, stack: tuple[str, ...] | None,
               default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The pack's list, narrowed by the stack's; either alone; else the default (compared case-insensitively)."""
    if central is not None and stack is not None:
        allowed = {s.casefold() for s in central}
        return tuple(s for s in stack if s.casefold() in allowed)
    if central is not None:
        return central
    if stack is not None:
        return stack
    return default


def environment_kind(central: Any, stack: Any, name: str) -> str:
    """prod wins whenever anyone says prod; otherwise pack, stack, then the stack name (`prod`, `*-prod`)."""
    for source, kind in (("pack config", central), ("bcsi:policy", stack)):
        if kind is not None and kind not in ENVIRONMENT_KINDS:
            raise PolicyConfigError(f"{source}: environmentKind must be one of {', '.join(ENVIRONMENT_KINDS)}")
    lowered = name.lower()
    named_prod = lowered in ("prod", "production") or lowered.endswith(("-prod", "_prod", ".prod", "/prod"))
    if "prod" in (central, stack) or (central is None and stack is None and named_prod):
        return "prod"
    return central or stack or "dev"


def effective(pack: Mapping[str, Any] | None, stack: Mapping[str, Any] | None, name: str = "") -> dict:
    """One flat dict with every setting a rule may read."""
    pack, stack = dict(pack or {}), dict(stack or {})
    forbidden = DEFAULT_FORBIDDEN_ROLES + (_names("pack config", "forbiddenRoles", pack.get("forbiddenRoles")) or ()) \
        + (_names("bcsi:policy", "forbiddenRoles", stack.get("forbiddenRoles")) or ())
    previous = pack.get("previousRoleAssignments")
    if previous is not None and not isinstance(previous, dict):
        raise PolicyConfigError("pack config: previousRoleAssignments must be a map of role name to principals")
    return {
        "maxCredentialDays": _tightest(_int("pack config", "maxCredentialDays", pack.get("maxCredentialDays")),
                                       _int("bcsi:policy", "maxCredentialDays", stack.get("maxCredentialDays")),
                                       default=DEFAULT_MAX_CREDENTIAL_DAYS),
        "maxShrinkPercent": _tightest(_int("pack config", "maxShrinkPercent", pack.get("maxShrinkPercent")),
                                      _int("bcsi:policy", "maxShrinkPercent", stack.get("maxShrinkPercent")),
                                      default=DEFAULT_MAX_SHRINK_PERCENT),
        "allowedSkus": _narrowest(_names("pack config", "allowedSkus", pack.get("allowedSkus")),
                                  _names("bcsi:policy", "allowedSkus", stack.get("allowedSkus")),
                                  DEFAULT_ALLOWED_SKUS),
        "verifiedDomains": _narrowest(_names("pack config", "verifiedDomains", pack.get("verifiedDomains")),
                                      _names("bcsi:policy", "verifiedDomains", stack.get("verifiedDomains")),
                                      None),
        "environmentKind": environment_kind(pack.get("environmentKind"), stack.get("environmentKind"), name),
        "forbiddenRoles": tuple(dict.fromkeys(forbidden)),
        "previousRoleAssignments": previous,
    }
