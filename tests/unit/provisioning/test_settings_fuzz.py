"""Fuzzing the settings dict: any input parses or raises SettingsError with clear lines, never another exception."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from provisioning.settings import SettingsError, TOP_LEVEL_KEYS, parse

SOURCE = "stacks/Pulumi.fuzz.yaml"

WORDS = st.sampled_from([
    "manage", "existing", "secret", "certificate", "federated", "integration", "public", "sandbox", "prod",
    "ann@contoso.com", "ann@", "5e0b8f2a-3c7d-4e1f-8a9b-2d6c4f8e1a37", "https://x.crm.dynamics.com", "http://x",
    "US", "DK", "XX", "DYN365_ENTERPRISE_SALES", "Integration User", "Integration Administrator",
    "solutions/x.zip", "userPrincipalName", "displayName", "usageLocation", "appId", "credential",
    "secretExpiryDays", "certificatePath", "issuer", "subject", "users", "groups", "disabledPlans", "path",
    "uninstallOnDelete", "maxCredentialDays", "allowedSkus", "environmentKind", "mode", "user", "app",
    "federated", "clientSecret", "secure", "environment", "company", "",
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 1000), st.floats(allow_nan=True),
                    st.text(max_size=30), WORDS)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(WORDS, st.text(max_size=10), st.integers(-5, 5)), children, max_size=5),
    ),
    max_leaves=25,
)
KEYS = st.one_of(st.sampled_from([f"bcsi:{k}" for k in TOP_LEVEL_KEYS]), st.sampled_from(list(TOP_LEVEL_KEYS)),
                 st.text(max_size=12), st.sampled_from(["azuread:x", "pulumi:tags", "bcsi:unknown"]))


def _check(config) -> None:
    try:
        parse(config, SOURCE)
    except SettingsError as error:
        assert error.lines, "a SettingsError carries at least one line"
        for line in error.lines:
            assert line.startswith(SOURCE + ": ")
            assert "(allowed: " in line and line.endswith(")")
            assert "\n" not in line


@hyp_settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_any_config_parses_or_raises_settings_error(config):
    _check(config)


SECTION = st.fixed_dictionaries({}, optional={
    "mode": st.one_of(st.sampled_from(["manage", "existing"]), VALUES),
    "user": st.one_of(VALUES, st.fixed_dictionaries({}, optional={
        "userPrincipalName": st.one_of(WORDS, VALUES), "displayName": VALUES, "usageLocation": st.one_of(WORDS, VALUES)})),
    "app": st.one_of(VALUES, st.fixed_dictionaries({}, optional={
        "displayName": VALUES, "credential": st.one_of(WORDS, VALUES), "secretExpiryDays": VALUES,
        "certificatePath": VALUES, "federated": VALUES, "appId": st.one_of(WORDS, VALUES), "clientSecret": VALUES})),
})


@hyp_settings(max_examples=150, deadline=None, database=None)
@given(cloud=st.one_of(st.sampled_from(["public", "sandbox"]), VALUES), identity=SECTION,
       roles=st.dictionaries(st.one_of(WORDS, VALUES.filter(lambda v: isinstance(v, (str, int)))),
                             st.one_of(st.lists(WORDS, max_size=4), VALUES), max_size=4),
       licenses=st.dictionaries(st.one_of(WORDS, st.text(max_size=8)), VALUES, max_size=3),
       salespersons=st.dictionaries(st.one_of(st.text(max_size=25), st.integers()), st.one_of(WORDS, VALUES), max_size=3),
       solution=st.one_of(VALUES, st.fixed_dictionaries({"path": st.one_of(WORDS, VALUES)},
                                                        optional={"uninstallOnDelete": VALUES})),
       policy=VALUES)
def test_structured_sections_parse_or_raise_settings_error(cloud, identity, roles, licenses, salespersons, solution, policy):
    _check({"bcsi:cloud": cloud, "bcsi:identity": identity, "bcsi:roles": roles, "bcsi:licenses": licenses,
            "bcsi:salespersons": salespersons, "bcsi:solution": solution, "bcsi:policy": policy,
            "bcsi:tenantId": "7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21", "bcsi:dataverseUrl": "https://x.crm.dynamics.com"})


def test_a_non_mapping_config_is_a_settings_error():
    for config in (None, [], "cloud: public", 3):
        try:
            parse(config, SOURCE)  # type: ignore[arg-type]
        except SettingsError as error:
            assert error.lines[0].startswith(SOURCE + ": config: ")
        else:
            raise AssertionError("expected SettingsError")
