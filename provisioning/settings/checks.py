"""Checkers of single setting values, in the style of click's `ParamType`.

A checker has a `name` (what a good value is: "a GUID"), an `allowed` text (what the problem line offers
instead) and `convert(value)`, which returns the typed value or calls `fail` with what is wrong. `check`
runs one against a value and turns a failure into one problem line, so each kind of value is described
once, not once per section.
"""
from __future__ import annotations

import re
from typing import Any, NoReturn, Sequence
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


class Guid(Checker):
    """A GUID, lower-cased as Graph and Dataverse return them."""

    name = "a GUID"
    allowed = ALLOWED_GUID

    def convert(self, value: Any) -> str:
        if not isinstance(value, str) or not GUID_PATTERN.match(value):
            self.refuse(value)
        return value.lower()


class Upn(Checker):
    name = "a valid user principal name"

    def __init__(self, allowed: str = ALLOWED_UPN):
        self.allowed = allowed

    def convert(self, value: Any) -> str:
        if not is_upn(value):
            self.refuse(value)
        return value


class WholeNumber(Checker):
    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self.name = f"a whole number from {low} to {high}"
        self.allowed = f"{low}..{high}"

    def convert(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            self.refuse(value)
        return value


class Boolean(Checker):
    name = "true or false"
    allowed = "true | false"

    def convert(self, value: Any) -> bool:
        if not isinstance(value, bool):
            self.refuse(value)
        return value


class HttpsUrl(Checker):
    """An https URL, trailing `/` dropped so URLs compare as the services return them."""

    name = "an https URL"

    def __init__(self, allowed: str):
        self.allowed = allowed

    def convert(self, value: Any) -> str:
        if not isinstance(value, str) or not is_https_url(value):
            self.refuse(value)
        return value.rstrip("/")


class Pattern(Checker):
    """Text matching a regular expression, like a SKU part number."""

    def __init__(self, pattern: re.Pattern, name: str, allowed: str):
        self.pattern, self.name, self.allowed = pattern, name, allowed

    def convert(self, value: Any) -> str:
        if not isinstance(value, str) or not self.pattern.match(value):
            self.refuse(value)
        return value


class Country(Checker):
    """An Entra ID usage location: an ISO 3166 alpha-2 code, upper-case as Graph stores it."""

    name = "an ISO 3166 alpha-2 country code"
    allowed = ALLOWED_COUNTRY

    def convert(self, value: Any) -> str:
        if not isinstance(value, str) or value not in ISO_3166_ALPHA2:
            self.refuse(value)
        return value


class Domain(Checker):
    name = "a domain name"
    allowed = "a verified domain name, like contoso.com"

    def convert(self, value: Any) -> str:
        if not is_domain(value):
            self.refuse(value)
        return value.lower()


class Map(Checker):
    name = "a map"

    def __init__(self, allowed: str):
        self.allowed = allowed

    def convert(self, value: Any) -> dict:
        if not isinstance(value, dict):
            self.refuse(value)
        return value


class List(Checker):
    name = "a list"

    def __init__(self, allowed: str):
        self.allowed = allowed

    def convert(self, value: Any) -> list:
        if not isinstance(value, list):
            self.refuse(value)
        return value


GUID = Guid()
UPN = Upn()
BOOLEAN = Boolean()
COUNTRY = Country()
DOMAIN = Domain()
SKU = Pattern(SKU_PATTERN, "a SKU part number", ALLOWED_SKU)
PLAN = Pattern(PLAN_PATTERN, "a service plan name", "a service plan name of letters, digits and '_', like DYN365_CDS_DYN_APPS")
ROLE_NAME = Text("a Dataverse security role name", 100)
