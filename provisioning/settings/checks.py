"""What a single setting value may look like: GUIDs, UPNs, domains, SKU and plan names, country codes, URLs."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit


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
