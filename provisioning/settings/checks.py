"""Checkers of single setting values, in the style of click's `ParamType`.

A checker has a `name` (what a good value is: "a GUID"), an `allowed` text (what the problem line offers
instead) and `convert(value)`, which returns the typed value or calls `fail` with what is wrong. `check`
runs one against a value and turns a failure into one problem line, so each kind of value is described
once, not once per section.
"""
from __future__ import annotations

import re
from typing import Any, Callable, NoReturn, Sequence
from urllib.parse import urlsplit

from provisioning.settings.problems import Problems, is_secure, show


ALLOWED_UPN = "a UPN like name@contoso.com"
ALLOWED_GUID = "a GUID like 7d3f6a52-1c4e-4b7a-9d2e-5a8b1c0e4f21"
ALLOWED_SKU = "a SKU part number of uppercase letters, digits and '_', like DYN365_ENTERPRISE_SALES"
ALLOWED_COUNTRY = "an ISO 3166 two-letter country code, like US or DK"

GUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
SKU_PATTERN = re.compile(r"^[A-Z0-9_]+$")
PLAN_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


# The 249 officially assigned ISO 3166-1 alpha-2 codes (Entra ID's usageLocation takes these).
ISO_3166_ALPHA2 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())


def is_upn(value: Any) -> bool:
    """A user principal name as Entra ID accepts it: alias@verified.domain, at most 113 characters."""
    if not isinstance(value, str) or len(value) > 113 or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    if not local or len(local) > 64 or not _UPN_LOCAL.match(local):
        return False
    return is_domain(domain)


def is_domain(value: Any) -> bool:
    """A DNS name of at least two labels, like contoso.com (not an IP address)."""
    if not isinstance(value, str) or len(value) > 253:
        return False
    labels = value.split(".")
    return len(labels) >= 2 and all(_DNS_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def is_https_url(value: str) -> bool:
    """An absolute https URL with a host and no query, fragment or credentials."""
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    return (parts.scheme == "https" and bool(parts.hostname) and not parts.query and not parts.fragment
            and " " not in value and "@" not in parts.netloc)


class Invalid(Exception):
    """What is wrong with one value and what is allowed instead: the two free parts of a problem line."""

    def __init__(self, problem: str, allowed: str):
        super().__init__(problem)
        self.problem = problem
        self.allowed = allowed


class Checker:
    """One kind of value. Subclasses set `name` and `allowed` and implement `convert`."""

    name = "a value"
    allowed = ""

    def convert(self, value: Any) -> Any:
        raise NotImplementedError

    def fail(self, problem: str, allowed: str | None = None) -> NoReturn:
        raise Invalid(problem, self.allowed if allowed is None else allowed)

    def refuse(self, value: Any) -> NoReturn:
        """The usual problem: the value is not what `name` says."""
        self.fail(f"{show(value)} is not {self.name}")


PLAIN_ONLY = "a plain value; secrets go only in bcsi:identity.app.clientSecret"


def check(problems: Problems, key: str, value: Any, checker: Checker) -> Any:
    """`checker.convert(value)`, or None with the problem recorded; a secure value fits no checker."""
    if is_secure(value):
        problems.add(key, "a secure value is not allowed here", PLAIN_ONLY)
        return None
    try:
        return checker.convert(value)
    except Invalid as invalid:
        problems.add(key, invalid.problem, invalid.allowed)
        return None


class Text(Checker):
    """Non-empty text without surrounding spaces, optionally at most `max_len` characters."""

    name = "a non-empty text"

    def __init__(self, allowed: str, max_len: int | None = None):
        self.allowed = allowed
        self.max_len = max_len

    def convert(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            self.refuse(value)
        if value != value.strip():
            self.fail(f"{show(value)} has leading or trailing spaces")
        if self.max_len is not None and len(value) > self.max_len:
            self.fail(f"{show(value)} is longer than {self.max_len} characters")
        return value


class Choice(Checker):
    name = "one of the choices"

    def __init__(self, options: Sequence[str]):
        self.options = tuple(options)
        self.allowed = " | ".join(self.options)

    def convert(self, value: Any) -> str:
        if value not in self.options or not isinstance(value, str):
            self.refuse(value)
        return value


class Kind(Checker):
    """A value that `test` accepts, returned as `result` makes it (GUIDs and domains lower-cased, say)."""

    def __init__(self, name: str, allowed: str, test: Callable[[Any], bool],
                 result: Callable[[Any], Any] | None = None):
        self.name, self.allowed, self.test, self.result = name, allowed, test, result

    def convert(self, value: Any) -> Any:
        if not self.test(value):
            self.refuse(value)
        return self.result(value) if self.result else value


class WholeNumber(Checker):
    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self.name = f"a whole number from {low} to {high}"
        self.allowed = f"{low}..{high}"

    def convert(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            self.refuse(value)
        return value


def _matches(pattern: re.Pattern) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


def user_principal_name(allowed: str = ALLOWED_UPN) -> Kind:
    return Kind("a valid user principal name", allowed, is_upn)


def https_url(allowed: str) -> Kind:
    """An https URL, trailing `/` dropped so URLs compare as the services return them."""
    return Kind("an https URL", allowed, lambda value: isinstance(value, str) and is_https_url(value),
                lambda value: value.rstrip("/"))


def map_value(allowed: str) -> Kind:
    return Kind("a map", allowed, lambda value: isinstance(value, dict))


def list_value(allowed: str) -> Kind:
    return Kind("a list", allowed, lambda value: isinstance(value, list))


UPN = user_principal_name()
GUID = Kind("a GUID", ALLOWED_GUID, _matches(GUID_PATTERN), str.lower)  # as Graph and Dataverse return them
BOOLEAN = Kind("true or false", "true | false", lambda value: isinstance(value, bool))
# An Entra ID usage location: an ISO 3166 alpha-2 code, upper-case as Graph stores it.
COUNTRY = Kind("an ISO 3166 alpha-2 country code", ALLOWED_COUNTRY,
               lambda value: isinstance(value, str) and value in ISO_3166_ALPHA2)
DOMAIN = Kind("a domain name", "a verified domain name, like contoso.com", is_domain, str.lower)
SKU = Kind("a SKU part number", ALLOWED_SKU, _matches(SKU_PATTERN))
PLAN = Kind("a service plan name", "a service plan name of letters, digits and '_', like DYN365_CDS_DYN_APPS",
            _matches(PLAN_PATTERN))
ROLE_NAME = Text("a Dataverse security role name", 100)
