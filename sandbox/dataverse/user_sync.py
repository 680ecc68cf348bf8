"""Dataverse's background user synchronisation from Entra ID, in the sandbox: queued by Graph, run lazily.

"When you create a user and assign a license ..., the user is also created in customer engagement apps. It can
take a few minutes to complete the synchronization" and a user must be enabled and licensed
(https://learn.microsoft.com/power-platform/admin/create-users). Graph queues every user a change may concern
(sandbox/consistency.py, `queue_user_sync`) with the time the sync will look at it; each request to an org runs
what is due, as Dataverse's own background process would have by then. The sync's writes are not the caller's,
so they are not counted in the metrics. Not modelled: the environment security group, on-demand adds through
the Power Platform admin API, and disabling a systemuser whose licence was taken away.
"""
from __future__ import annotations

import time

from sandbox.consistency import sync_queue

from .metadata import BY_SET
from .models import OrgModel, stable_id


def systemuser_from_entra(org: str, entra: dict, upn: str, business_unit_id: str, **values) -> dict:
    """The systemuser the sync writes for an Entra user (the seed writes the same for users it syncs)."""
    display = entra.get("displayName") or upn.split("@")[0]
    first, _, last = display.partition(" ")
    doc = {column: None for column in BY_SET["systemusers"].columns}
    doc.update(systemuserid=stable_id(org, "systemuser", upn), domainname=upn, internalemailaddress=entra.get("mail") or upn,
               fullname=display, firstname=entra.get("givenName") or first,
               lastname=entra.get("surname") or last or None, azureactivedirectoryobjectid=entra.get("id"),
               accessmode=0, isdisabled=False, isintegrationuser=False, islicensed=True,
               _businessunitid_value=business_unit_id)
    doc.update(values)
    return doc


class UserSync:
    """One org's share of the sync: every queued user that is due becomes a systemuser if eligible."""

    def __init__(self, model: OrgModel):
        self.model = model
        self.queue = sync_queue(model.org)

    def advance(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        store = self.model.store
        due = [entry["id"] for entry in store.view(self.queue) if entry["dueAt"] <= now]
        if not due:
            return
        from sandbox.graph.models import Directory   # the directory's licence rules (graph is the owner)

        licences = Directory(store, "").licence_state()
        with store.transaction():
            model = self.model
            present = {key for row in store.view(model.kind("systemusers"))
                       for key in (row.get("azureactivedirectoryobjectid"), str(row.get("domainname") or "").lower())}
            root = model.root_business_unit()["businessunitid"]
            for user_id in due:
                store.delete(self.queue, user_id)
                user = store.get("users", user_id)
                if not user or not user.get("accountEnabled") or not licences.licensed(user_id, user):
                    continue
                upn = user["userPrincipalName"]
                if user_id in present or upn.lower() in present:
                    continue
                doc = systemuser_from_entra(model.org, user, upn, root)
                store.put(model.kind("systemusers"), doc["systemuserid"], doc)
                present |= {user_id, upn.lower()}
