"""How the pack's settings combine: pack config is the authority, the stack's bcsi:policy may only tighten it."""
import json

import pytest

from policies import config


def test_defaults():
    settings = config.effective(None, None)
    assert settings["maxCredentialDays"] == 180 and settings["maxShrinkPercent"] == 50
    assert "DYN365_ENTERPRISE_SALES" in settings["allowedSkus"]
    assert settings["verifiedDomains"] is None and settings["environmentKind"] == "dev"
    assert {"System Administrator", "System Customizer"} <= set(settings["forbiddenRoles"])


def test_stack_may_tighten_but_not_loosen():
    settings = config.effective({"maxCredentialDays": 90, "allowedSkus": ["A", "B"]},
                                {"maxCredentialDays": 365, "allowedSkus": ["b", "C"]})
    assert settings["maxCredentialDays"] == 90
    assert settings["allowedSkus"] == ("b",)
    assert config.effective(None, {"maxCredentialDays": 30})["maxCredentialDays"] == 30
    assert config.effective(None, {"allowedSkus": ["X"]})["allowedSkus"] == ("X",)


def test_environment_kind_prod_wins():
    assert config.effective({"environmentKind": "dev"}, {"environmentKind": "prod"})["environmentKind"] == "prod"
    assert config.effective(None, None, "contoso-prod")["environmentKind"] == "prod"
    assert config.effective(None, {"environmentKind": "test"}, "prod")["environmentKind"] == "test"
    with pytest.raises(config.PolicyConfigError, match="environmentKind"):
        config.effective(None, {"environmentKind": "staging"})


def test_bad_shapes_fail_with_one_line():
    with pytest.raises(config.PolicyConfigError, match="pack config: maxCredentialDays"):
        config.effective({"maxCredentialDays": "soon"}, None)
    with pytest.raises(config.PolicyConfigError, match="bcsi:policy: allowedSkus"):
        config.effective(None, {"allowedSkus": "DYN365_ENTERPRISE_SALES"})


def test_stack_policy_read_from_the_engine_environment():
    environ = {"PULUMI_CONFIG": json.dumps({"bcsi:policy": json.dumps({"environmentKind": "prod"}),
                                            "bcsi:cloud": "sandbox"}), "PULUMI_STACK": "prod"}
    assert config.stack_policy_settings(environ) == {"environmentKind": "prod"}
    assert config.stack_name(environ) == "prod"
    assert config.stack_policy_settings({}) == {}


def test_stack_policy_parsed_once_and_never_shared():
    """Every policy reads it on every resource: one parse per pack process, and a caller's change stays its own."""
    environ = {"PULUMI_CONFIG": json.dumps({"bcsi:policy": json.dumps({"maxCredentialDays": 90})})}
    first = config.stack_policy_settings(environ)
    first["maxCredentialDays"] = 1000
    parses = config._policy_setting.cache_info().misses
    assert config.stack_policy_settings(environ) == {"maxCredentialDays": 90}
    assert config._policy_setting.cache_info().misses == parses
