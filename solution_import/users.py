"""Dataverse users the integration runs as: the application user of the app registration, and the
integration user's access mode (non-interactive)."""
from __future__ import annotations

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from mscloud.errors import BadRequest, NotFound
from mscloud.odata import odata_string
from mscloud.outcome import converge_after_drop
from mscloud.replication import SYNC_CAUSE, ReplicationTimeout, wait_for
from solution_import.common import ACCESS_MODE_NON_INTERACTIVE, DataverseSetupError, dataverse_for, guid, root_business_unit

# Dataverse's answer for an app id it cannot find in the directory (wording unconfirmed; the sandbox uses it for a
# service principal that has not replicated yet too).
DIRECTORY_MISS = "was not found in the directory"
_USER_FIELDS = ["systemuserid", "applicationid", "domainname", "accessmode", "isdisabled", "_businessunitid_value"]


def _get_user(dataverse, user_id: str) -> dict | None:
    try:
        return dataverse.get("systemusers", user_id, select=_USER_FIELDS)
    except NotFound:
        return None


# ---------------------------------------------------------------- application user

def find_application_user(dataverse, app_id: str) -> dict | None:
    rows = dataverse.list("systemusers", select=_USER_FIELDS, filter=f"applicationid eq {guid(app_id)}")
    return rows[0] if rows else None


def _application_outs(props: dict, user: dict, target_bu: str) -> dict:
    return {**props, "systemUserId": guid(user["systemuserid"]), "accessMode": user.get("accessmode"),
            "currentBusinessUnitId": guid(user.get("_businessunitid_value")), "targetBusinessUnitId": target_bu}


def _bind_business_unit(bu: str) -> dict:
    return {"businessunitid@odata.bind": f"/businessunits({bu})"}


def _create_application_user(dataverse, app_id: str, business_unit: str) -> str:
    """POST systemusers for the app; while Dataverse does not see a new service principal yet (it answers as for
    an app the directory does not have), ask again, bounded and reported."""
    body = {"applicationid": app_id, "accessmode": ACCESS_MODE_NON_INTERACTIVE, "isdisabled": False,
            **_bind_business_unit(business_unit)}

    found: list[str] = []

    def missing(_pending):
        """After a dropped connection: the user may exist now (Dataverse refuses a second one for the app id)."""
        user = find_application_user(dataverse, app_id)
        found[:] = [guid(user["systemuserid"])] if user else []
        return [] if user else [app_id]

    def attempt():
        try:
            created = converge_after_drop([app_id], lambda _: dataverse.create("systemusers", body), missing,
                                          during=f"creating the application user of app {app_id}",
                                          reread="the application users", report=pulumi.log.info)
            return created or (found[0] if found else None)
        except BadRequest as error:
            if DIRECTORY_MISS not in error.message.lower():
                raise
            return None

    try:
        return wait_for(attempt, report=pulumi.log.info, waiting=f"Dataverse to see the service principal of app {app_id}",
                        cause="the app has no service principal in this tenant (create one, e.g. an enterprise "
                              "application), or Entra ID is slow to replicate")
    except ReplicationTimeout as timeout:
        raise DataverseSetupError(f"application user for app {app_id}: {timeout}") from None


def ensure_application_user(props: dict) -> dict:
    """Finds the application user by app id (adopting it) or creates it non-interactive in the BU.

    An adopted user stays in its business unit unless one is configured: moving a user removes its security roles
    (https://learn.microsoft.com/power-platform/admin/create-edit-business-units), so it is never done silently. It
    then gets that unit's copies of its roles; `bcsi plan` and `bcsi check` say that BC wants it in the root."""
    dataverse = dataverse_for(props)
    configured_bu = guid(props.get("businessUnitId"))
    user = find_application_user(dataverse, props["appId"])
    if user is None:
        target_bu = configured_bu or root_business_unit(dataverse)
        user_id = _create_application_user(dataverse, guid(props["appId"]), target_bu)
        user = _get_user(dataverse, user_id) or {"systemuserid": user_id}
    else:
        current_bu = guid(user.get("_businessunitid_value"))
        target_bu = configured_bu or current_bu
        if not configured_bu and current_bu != root_business_unit(dataverse):
            pulumi.log.warn(f"application user of app {guid(props['appId'])} sits in business unit {current_bu}, not "
                            "the root one: left there (moving it removes its roles); it gets that unit's copies "
                            "of its roles, which Business Central does not accept (see `bcsi check`)")
        patch = {}
        if current_bu != target_bu:
            pulumi.log.warn(f"application user of app {guid(props['appId'])} moves to business unit {target_bu}: "
                            "Dataverse removes its roles, the role assignments give them back")
            patch.update(_bind_business_unit(target_bu))
        if user.get("accessmode") != ACCESS_MODE_NON_INTERACTIVE:
            patch["accessmode"] = ACCESS_MODE_NON_INTERACTIVE
        if patch:
            dataverse.update("systemusers", guid(user["systemuserid"]), patch)
            user = _get_user(dataverse, guid(user["systemuserid"])) or user
    return _application_outs(props, user, target_bu)


class ApplicationUserProvider(ResourceProvider):
    def create(self, props):
        outs = ensure_application_user(props)
        return CreateResult(id_=outs["systemUserId"], outs=outs)

    def read(self, id_, props):
        user = _get_user(dataverse_for(props), id_)
        if user is None:
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs=_application_outs(props, user, props.get("targetBusinessUnitId")))

    def diff(self, id_, olds, news):
        if guid(olds.get("appId")) != guid(news.get("appId")):
            return DiffResult(changes=True, replaces=["appId"], delete_before_replace=True)
        changes = (
            guid(olds.get("businessUnitId")) != guid(news.get("businessUnitId"))
            or (bool(news.get("businessUnitId")) and olds.get("currentBusinessUnitId") != olds.get("targetBusinessUnitId"))
            or olds.get("accessMode") != ACCESS_MODE_NON_INTERACTIVE
            or olds.get("environmentUrl") != news.get("environmentUrl")
        )
        return DiffResult(changes=changes, replaces=[])

    def update(self, id_, olds, news):
        return UpdateResult(outs=ensure_application_user(news))

    def delete(self, id_, props):
        """Dataverse deletes only a disabled application user, so disable it first."""
        dataverse = dataverse_for(props)
        user = _get_user(dataverse, id_)
        if user is None:
            return
        if not user.get("isdisabled"):
            dataverse.update("systemusers", id_, {"isdisabled": True})
        dataverse.delete("systemusers", id_, missing_ok=True)


class ApplicationUser(Resource, module="bcsi", name="ApplicationUser"):
    """The Dataverse application user of an Entra app registration (server-to-server), non-interactive."""

    systemUserId: pulumi.Output[str]
    accessMode: pulumi.Output[int]

    def __init__(self, resource_name: str, *, connection: dict, environment_url: pulumi.Input[str],
                 app_id: pulumi.Input[str], business_unit_id: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(ApplicationUserProvider(), resource_name, {
            "connection": connection, "environmentUrl": environment_url, "appId": app_id,
            "businessUnitId": business_unit_id, "systemUserId": None, "accessMode": None,
            "currentBusinessUnitId": None, "targetBusinessUnitId": None,
        }, opts)


# ---------------------------------------------------------------- integration user access mode

def find_user_by_upn(dataverse, upn: str) -> dict:
    """The user's systemuser, waiting (bounded, reported) for Dataverse's background sync from Entra ID to add it
    (https://learn.microsoft.com/power-platform/admin/create-users)."""
    def attempt():
        rows = dataverse.list("systemusers", select=_USER_FIELDS, filter=f"domainname eq {odata_string(upn)}")
        return rows[0] if rows else None

    try:
        return wait_for(attempt, report=pulumi.log.info, waiting=f"Dataverse to sync {upn} from Entra ID",
                        cause=SYNC_CAUSE)
    except ReplicationTimeout as timeout:
        raise DataverseSetupError(f"user {upn} is not in Dataverse: {timeout}; license the user in Entra ID, "
                                  "then run again") from None


def _access_outs(props: dict, user: dict, previous) -> dict:
    return {**props, "systemUserId": guid(user["systemuserid"]), "currentAccessMode": user.get("accessmode"),
            "previousAccessMode": previous}


def _set_access_mode(props: dict, previous=None) -> dict:
    dataverse = dataverse_for(props)
    user = find_user_by_upn(dataverse, props["userPrincipalName"])
    wanted = int(props.get("accessMode", ACCESS_MODE_NON_INTERACTIVE))
    if previous is None:
        previous = user.get("accessmode")
    if user.get("accessmode") != wanted:
        dataverse.update("systemusers", guid(user["systemuserid"]), {"accessmode": wanted})
        user = {**user, "accessmode": wanted}
    return _access_outs(props, user, previous)


class IntegrationUserAccessProvider(ResourceProvider):
    def create(self, props):
        outs = _set_access_mode(props)
        return CreateResult(id_=outs["systemUserId"], outs=outs)

    def read(self, id_, props):
        user = _get_user(dataverse_for(props), id_)
        if user is None:
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs=_access_outs(props, user, props.get("previousAccessMode")))

    def diff(self, id_, olds, news):
        if (olds.get("userPrincipalName") or "").lower() != (news.get("userPrincipalName") or "").lower():
            return DiffResult(changes=True, replaces=["userPrincipalName"], delete_before_replace=True)
        changes = (olds.get("accessMode") != news.get("accessMode")
                   or olds.get("currentAccessMode") != news.get("accessMode"))
        return DiffResult(changes=changes, replaces=[])

    def update(self, id_, olds, news):
        return UpdateResult(outs=_set_access_mode(news, previous=olds.get("previousAccessMode")))

    def delete(self, id_, props):
        """Gives the user back the access mode it had before this resource managed it."""
        previous = props.get("previousAccessMode")
        if previous is None:
            return
        dataverse = dataverse_for(props)
        user = _get_user(dataverse, id_)
        if user is not None and user.get("accessmode") != previous:
            dataverse.update("systemusers", id_, {"accessmode": previous})


class IntegrationUserAccess(Resource, module="bcsi", name="IntegrationUserAccess"):
    """The integration user's Dataverse access mode (4, non-interactive); the old mode is restored on delete."""

    systemUserId: pulumi.Output[str]
    previousAccessMode: pulumi.Output[int]

    def __init__(self, resource_name: str, *, connection: dict, environment_url: pulumi.Input[str],
                 user_principal_name: pulumi.Input[str], access_mode: int = ACCESS_MODE_NON_INTERACTIVE,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(IntegrationUserAccessProvider(), resource_name, {
            "connection": connection, "environmentUrl": environment_url,
            "userPrincipalName": user_principal_name, "accessMode": access_mode,
            "systemUserId": None, "previousAccessMode": None, "currentAccessMode": None,
        }, opts)
