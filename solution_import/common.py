"""What every Dataverse resource here shares: a client built per call, the root business unit, errors.

Providers are pickled into state, so nothing here is kept on an instance: `dataverse_for(props)`
rebuilds (or reuses, per process) the clients from the secret-free `connection` dict.
"""
from __future__ import annotations

from mscloud.connection import clients_for

ACCESS_MODE_NON_INTERACTIVE = 4


class DataverseSetupError(Exception):
    """A precondition the user must fix (missing role, user not synced yet, ...): one clear line."""


def dataverse_for(props: dict):
    """The DataverseClient for the resource's environment (token audience = the org URL)."""
    return clients_for(props["connection"]).dataverse(props["environmentUrl"])


def guid(value: str | None) -> str | None:
    """Lower-case GUID without braces (Dataverse ids compare case-insensitively)."""
    return value.strip().strip("{}").lower() if value else None


def root_business_unit(dataverse) -> str:
    """The root business unit's id: the one without a parent."""
    rows = dataverse.list("businessunits", select=["businessunitid"], filter="_parentbusinessunitid_value eq null")
    if not rows:
        raise DataverseSetupError("Dataverse returned no root business unit")
    return guid(rows[0]["businessunitid"])
