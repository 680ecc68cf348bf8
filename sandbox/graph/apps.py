"""Graph state and rules for app registrations, service principals, app role assignments and
delegated permission grants (no HTTP here).

Kinds (shared with the identity service, see sandbox/README.md): `applications` (credentials live on
the document: `passwordCredentials[]._secretSha256` is what the token endpoint checks, the secret
itself is never stored), `servicePrincipals`, `appRoleAssignments`, `oauth2PermissionGrants`.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from sandbox import consistency
from sandbox.app import ServiceError

from .errors import BAD_REQUEST, bad_request, invalid_value, not_found, read_only
from .models import TenantModel, atomic, now, public

APP_WRITABLE = {"displayName", "description", "signInAudience", "requiredResourceAccess", "identifierUris", "web",
                "api", "appRoles", "keyCredentials", "notes", "tags", "publicClient", "spa", "info",
                "optionalClaims", "isFallbackPublicClient", "serviceManagementReference", "groupMembershipClaims"}
APP_READ_ONLY = {"id", "appId", "createdDateTime", "passwordCredentials", "publisherDomain", "deletedDateTime"}
SP_WRITABLE = {"appId", "accountEnabled", "appRoleAssignmentRequired", "tags", "notes", "description",
               "displayName", "servicePrincipalType", "preferredSingleSignOnMode", "notificationEmailAddresses"}
MAX_FEDERATED = 20
FIC_FIELDS = ("name", "issuer", "subject", "audiences", "description")
GRANT_FIELDS = ("clientId", "consentType", "principalId", "resourceId", "scope")
_FIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_]{2,119}")
_SECRET_ALPHABET = string.ascii_letters + string.digits + "~.-_"
DEFAULT_APP_ROLE = "00000000-0000-0000-0000-000000000000"


def _parse_time(text: Any, prop: str) -> datetime:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise invalid_value(prop, "PasswordCredential") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def secret_sha256(secret: str) -> str:
    """How a client secret is kept: hex SHA-256 of its UTF-8 text (the identity service compares this)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """A 40-character secret shaped like Entra's (three characters, `8Q~`, then 34 more)."""
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(34))


def _assignment_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes + secrets.token_bytes(16)).decode().rstrip("=")


class Apps(TenantModel):
    """Applications, service principals, app role assignments and oauth2 permission grants."""

    # -- applications ------------------------------------------------------------------------------
    def application(self, key: str) -> dict:
        return self._get("applications", key)

    def application_by_app_id(self, app_id: str) -> dict:
        found = self.store.find("applications", appId=app_id.lower())
        if not found:
            raise not_found(app_id)
        return found[0]

    def applications(self) -> list[dict]:
        return self.store.list("applications")

    @atomic
    def create_application(self, body: Any) -> dict:
        self._check_properties(body, APP_WRITABLE, APP_READ_ONLY)
        if not isinstance(body.get("displayName"), str) or not body["displayName"].strip():
            raise invalid_value("displayName", "Application")
        doc = {"api": None, "appRoles": [], "description": None, "identifierUris": [], "keyCredentials": [],
               "notes": None, "passwordCredentials": [], "requiredResourceAccess": [],
               "signInAudience": "AzureADMyOrg", "tags": [], "web": None, "federatedIdentityCredentials": []}
        doc.update({k: v for k, v in body.items() if k != "keyCredentials"})
        doc.update(id=str(uuid.uuid4()), appId=str(uuid.uuid4()), createdDateTime=now(),
                   publisherDomain=self._default_domain(),
                   _replicatedAt=consistency.load(self.store).due("servicePrincipal"))
        doc["keyCredentials"] = self._key_credentials(body.get("keyCredentials", []), [])
        return self._put("applications", doc)

    @atomic
    def update_application(self, key: str, body: Any) -> dict:
        doc = self.application(key)
        self._check_properties(body, APP_WRITABLE, APP_READ_ONLY)
        if "displayName" in body and (not isinstance(body["displayName"], str) or not body["displayName"].strip()):
            raise invalid_value("displayName", "Application")
        for prop, value in body.items():
            if prop == "keyCredentials":
                doc["keyCredentials"] = self._key_credentials(value, doc.get("keyCredentials", []))
            elif not prop.startswith("@odata."):
                doc[prop] = value
        return self._put("applications", doc)

    @atomic
    def delete_application(self, key: str) -> None:
        doc = self.application(key)
        for sp in self.store.find("servicePrincipals", appId=doc["appId"]):
            self.delete_service_principal(sp["id"])
        doc["deletedDateTime"] = now()
        self.store.put("deletedItems", doc["id"], doc)
        self._delete("applications", doc["id"])

    def application_view(self, doc: dict) -> dict:
        """Served form: no secret hashes, no certificate bodies, no navigation properties."""
        view = public(doc)
        view.pop("federatedIdentityCredentials", None)
        view["passwordCredentials"] = [
            {**public(c), "secretText": None, "customKeyIdentifier": None} for c in doc.get("passwordCredentials", [])]
        view["keyCredentials"] = [{**public(c), "key": None} for c in doc.get("keyCredentials", [])]
        return view

    def _default_domain(self) -> str | None:
        org = self.store.get("organization", self.tenant_id) or {}
        domains = org.get("domains") or []
        return domains[0] if domains else None

    def _key_credentials(self, value: Any, existing: list[dict]) -> list[dict]:
        """PATCH keyCredentials replaces the collection; an entry naming an existing keyId may omit its key."""
        if not isinstance(value, list):
            raise invalid_value("keyCredentials", "Application")
        known = {c["keyId"]: c for c in existing}
        result = []
        for item in value:
            if not isinstance(item, dict):
                raise invalid_value("keyCredentials", "Application")
            key_id = str(item.get("keyId") or uuid.uuid4()).lower()
            if not item.get("key") and key_id in known:
                result.append({**known[key_id], **{k: v for k, v in item.items() if k in ("displayName",)}})
                continue
            if item.get("type") != "AsymmetricX509Cert" or item.get("usage") != "Verify":
                raise invalid_value("keyCredentials", "Application")
            try:
                der = base64.b64decode(item.get("key") or "", validate=True)
                cert = x509.load_der_x509_certificate(der)
            except ValueError:
                raise invalid_value("keyCredentials", "Application") from None
            result.append({
                "keyId": key_id, "type": "AsymmetricX509Cert", "usage": "Verify",
                "key": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
                "customKeyIdentifier": cert.fingerprint(hashes.SHA1()).hex().upper(),
                "displayName": item.get("displayName") or f"CN={_common_name(cert)}",
                "startDateTime": _iso(cert.not_valid_before_utc), "endDateTime": _iso(cert.not_valid_after_utc)})
        return result

    @atomic
    def add_password(self, key: str, body: Any) -> dict:
        """POST /applications/{id}/addPassword: the secret is returned here once, and kept only as a hash."""
        doc = self.application(key)
        body = {} if body is None else body
        spec = body.get("passwordCredential") or {} if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise invalid_value("passwordCredential", "Application")
        start = _parse_time(spec["startDateTime"], "startDateTime") if spec.get("startDateTime") else \
            datetime.now(timezone.utc).replace(microsecond=0)
        end = _parse_time(spec["endDateTime"], "endDateTime") if spec.get("endDateTime") else \
            start + timedelta(days=730)
        if end <= start:
            raise bad_request("Key credential end date is invalid.")  # unconfirmed wording
        secret = new_secret()
        credential = {"customKeyIdentifier": None, "displayName": spec.get("displayName"),
                      "endDateTime": _iso(end), "hint": secret[:3], "keyId": str(uuid.uuid4()),
                      "startDateTime": _iso(start)}
        doc.setdefault("passwordCredentials", []).append({**credential, "_secretSha256": secret_sha256(secret)})
        self._put("applications", doc)
        return {**credential, "secretText": secret}

    @atomic
    def remove_password(self, key: str, body: Any) -> None:
        doc = self.application(key)
        key_id = str((body or {}).get("keyId") or "").lower() if isinstance(body, dict) else ""
        if not key_id:
            raise bad_request("One or more parameters of the operation 'removePassword' are missing from the "
                              "request payload. The missing parameters are: keyId.")
        remaining = [c for c in doc.get("passwordCredentials", []) if c["keyId"].lower() != key_id]
        if len(remaining) == len(doc.get("passwordCredentials", [])):
            raise bad_request(f"No password credential found with keyId '{key_id}'.")  # unconfirmed wording
        doc["passwordCredentials"] = remaining
        self._put("applications", doc)

    # -- federated identity credentials ------------------------------------------------------------
    def federated_credentials(self, key: str) -> list[dict]:
        return self.application(key).get("federatedIdentityCredentials", [])

    def federated_credential(self, key: str, fic: str) -> dict:
        for item in self.federated_credentials(key):
            if item["id"] == fic.lower() or item["name"] == fic:
                return item
        raise not_found(fic)

    @atomic
    def create_federated_credential(self, key: str, body: Any) -> dict:
        doc = self.application(key)
        self._check_properties(body, FIC_FIELDS)
        self._check_fic_values(body, required=True)
        existing = doc.setdefault("federatedIdentityCredentials", [])
        # The three rules below are Entra's; the wordings are unconfirmed.
        if len(existing) >= MAX_FEDERATED:
            raise bad_request(f"Maximum number of federated identity credentials ({MAX_FEDERATED}) reached "
                              "for this application.")
        if any(item["name"] == body["name"] for item in existing):
            raise ServiceError(409, "Request_MultipleObjectsWithSameKeyValue",
                               f"FederatedIdentityCredential with name {body['name']} already exists.")
        if any(item["issuer"] == body["issuer"] and item["subject"] == body["subject"] for item in existing):
            raise ServiceError(409, "Request_MultipleObjectsWithSameKeyValue",
                               "FederatedIdentityCredential with same issuer and subject already exists.")
        item = {"id": str(uuid.uuid4()), "name": body["name"], "issuer": body["issuer"], "subject": body["subject"],
                "audiences": list(body["audiences"]), "description": body.get("description")}
        existing.append(item)
        self._put("applications", doc)
        return item

    @atomic
    def update_federated_credential(self, key: str, fic: str, body: Any) -> None:
        doc = self.application(key)
        current = self.federated_credential(key, fic)
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.")
        if "name" in body and body["name"] != current["name"]:
            raise read_only("name")
        self._check_properties(body, FIC_FIELDS)
        self._check_fic_values(body, required=False)
        updated = {**current, **{k: v for k, v in body.items() if not k.startswith("@odata.")}}
        if any(item["id"] != current["id"] and item["issuer"] == updated["issuer"]
               and item["subject"] == updated["subject"] for item in doc["federatedIdentityCredentials"]):
            raise ServiceError(409, "Request_MultipleObjectsWithSameKeyValue",
                               "FederatedIdentityCredential with same issuer and subject already exists.")
        doc["federatedIdentityCredentials"] = [updated if item["id"] == current["id"] else item
                                               for item in doc["federatedIdentityCredentials"]]
        self._put("applications", doc)

    @atomic
    def delete_federated_credential(self, key: str, fic: str) -> None:
        doc = self.application(key)
        current = self.federated_credential(key, fic)
        doc["federatedIdentityCredentials"] = [i for i in doc["federatedIdentityCredentials"] if i["id"] != current["id"]]
        self._put("applications", doc)

    def _check_fic_values(self, body: dict, required: bool) -> None:
        resource = "FederatedIdentityCredential"
        if required or "name" in body:
            if not isinstance(body.get("name"), str) or not _FIC_NAME.fullmatch(body["name"]):
                raise invalid_value("name", resource)
        for prop in ("issuer", "subject"):
            if required or prop in body:
                if not isinstance(body.get(prop), str) or not body[prop].strip():
                    raise invalid_value(prop, resource)
        if required or "audiences" in body:
            audiences = body.get("audiences")
            if not isinstance(audiences, list) or len(audiences) != 1 or not isinstance(audiences[0], str):
                raise invalid_value("audiences", resource)

    # -- service principals ------------------------------------------------------------------------
    def service_principal(self, key: str) -> dict:
        return self._get("servicePrincipals", key)

    def service_principals(self) -> list[dict]:
        return self.store.list("servicePrincipals")

    @atomic
    def create_service_principal(self, body: Any) -> dict:
        self._check_properties(body, SP_WRITABLE, {"id", "appRoles", "servicePrincipalNames"})
        app_id = str(body.get("appId") or "").lower()
        if not app_id:
            raise invalid_value("appId", "ServicePrincipal")
        apps = self.store.find("applications", appId=app_id)
        if not apps or apps[0].get("_replicatedAt", 0) > time.time():   # a new app is not replicated yet
            raise ServiceError(400, BAD_REQUEST, f"The appId '{app_id}' of the service principal does not reference a "
                               "valid application object.",
                               details=[{"code": "NoBackingApplicationObject", "target": "appId"}])
        if self.store.find("servicePrincipals", appId=app_id):
            raise ServiceError(409, "Request_MultipleObjectsWithSameKeyValue",
                               "The service principal cannot be created, updated, or restored because the service "
                               f"principal name {app_id} is already in use.")
        app = apps[0]
        doc = {"accountEnabled": True, "appRoleAssignmentRequired": False, "tags": [], "notes": None,
               "description": None, "servicePrincipalType": "Application", "oauth2PermissionScopes": [],
               "appOwnerOrganizationId": self.tenant_id, "servicePrincipalNames": [app_id],
               "appDisplayName": app["displayName"], "displayName": app["displayName"],
               "appRoles": list(app.get("appRoles", []))}
        doc.update({k: v for k, v in body.items() if not k.startswith("@odata.")})
        # v1.0 servicePrincipal has no createdDateTime
        doc.update(id=str(uuid.uuid4()), appId=app_id,
                   _replicatedAt=consistency.load(self.store).due("servicePrincipal"))   # when Dataverse sees it
        return self._put("servicePrincipals", doc)

    @atomic
    def delete_service_principal(self, key: str) -> None:
        doc = self.service_principal(key)
        for assignment in self.store.list("appRoleAssignments"):
            if doc["id"] in (assignment["principalId"], assignment["resourceId"]):
                self._delete("appRoleAssignments", assignment["id"])
        for grant in self.store.list("oauth2PermissionGrants"):
            if doc["id"] in (grant["clientId"], grant["resourceId"]):
                self._delete("oauth2PermissionGrants", grant["id"])
        self._delete("servicePrincipals", doc["id"])

    # -- app role assignments ----------------------------------------------------------------------
    def assignments_of(self, principal_id: str) -> list[dict]:
        return self.store.find("appRoleAssignments", principalId=principal_id)

    def assignments_to(self, resource_id: str) -> list[dict]:
        return self.store.find("appRoleAssignments", resourceId=resource_id)

    @atomic
    def create_assignment(self, body: Any, principal: str | None = None, resource: str | None = None) -> dict:
        """POST …/appRoleAssignments (principal fixed by the URL) or …/appRoleAssignedTo (resource fixed)."""
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.")
        for prop in ("principalId", "resourceId", "appRoleId"):
            if not isinstance(body.get(prop), str) or not body[prop]:
                raise invalid_value(prop, "AppRoleAssignment")
        principal_id, resource_id, role_id = (body["principalId"].lower(), body["resourceId"].lower(),
                                              body["appRoleId"].lower())
        if principal and principal_id != principal.lower():
            raise bad_request("The principalId in the request body must match the servicePrincipal in the request URL.")
        if resource and resource_id != resource.lower():
            raise bad_request("The resourceId in the request body must match the servicePrincipal in the request URL.")
        principal_doc, principal_type = self._principal(principal_id)
        resource_doc = self.store.get("servicePrincipals", resource_id)
        if resource_doc is None:
            raise not_found(resource_id)
        roles = {r["id"].lower() for r in resource_doc.get("appRoles", [])}
        if role_id != DEFAULT_APP_ROLE and role_id not in roles:
            raise bad_request(f"Permission being assigned was not found on application '{resource_doc['appId']}'.")
        if any(a["resourceId"] == resource_id and a["appRoleId"].lower() == role_id
               for a in self.assignments_of(principal_id)):
            raise bad_request("Permission being assigned already exists on the object.")
        doc = {"id": _assignment_id(), "appRoleId": role_id, "createdDateTime": now(), "deletedDateTime": None,
               "principalDisplayName": principal_doc.get("displayName"), "principalId": principal_id,
               "principalType": principal_type, "resourceDisplayName": resource_doc.get("displayName"),
               "resourceId": resource_id}
        return self._put("appRoleAssignments", doc)

    @atomic
    def delete_assignment(self, assignment_id: str, principal: str | None = None, resource: str | None = None) -> None:
        doc = self.store.get("appRoleAssignments", assignment_id)
        if doc is None or (principal and doc["principalId"] != principal.lower()) \
                or (resource and doc["resourceId"] != resource.lower()):
            raise not_found(assignment_id)
        self._delete("appRoleAssignments", assignment_id)

    def _principal(self, id_: str) -> tuple[dict, str]:
        for kind, type_ in (("servicePrincipals", "ServicePrincipal"), ("users", "User"), ("groups", "Group")):
            doc = self.store.get(kind, id_)
            if doc is not None:
                return doc, type_
        raise not_found(id_)

    # -- oauth2 permission grants ------------------------------------------------------------------
    def grants(self) -> list[dict]:
        return self.store.list("oauth2PermissionGrants")

    def grant(self, key: str) -> dict:
        return self._get("oauth2PermissionGrants", key)

    @atomic
    def create_grant(self, body: Any) -> dict:
        self._check_properties(body, GRANT_FIELDS)
        for prop in ("clientId", "consentType", "resourceId"):
            if not isinstance(body.get(prop), str) or not body[prop]:
                raise invalid_value(prop, "OAuth2PermissionGrant")
        consent = body["consentType"]
        if consent not in ("AllPrincipals", "Principal"):
            raise invalid_value("consentType", "OAuth2PermissionGrant")
        principal_id = (body.get("principalId") or None)
        if (consent == "Principal") != bool(principal_id):
            raise invalid_value("principalId", "OAuth2PermissionGrant")
        client_id, resource_id = body["clientId"].lower(), body["resourceId"].lower()
        self.service_principal(client_id)
        self.service_principal(resource_id)
        if principal_id:
            principal_id = principal_id.lower()
            if self.store.get("users", principal_id) is None:
                raise not_found(principal_id)
        if any(g["clientId"] == client_id and g["resourceId"] == resource_id and g["consentType"] == consent
               and g.get("principalId") == principal_id for g in self.grants()):
            raise ServiceError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
        doc = {"id": _assignment_id(), "clientId": client_id, "consentType": consent, "principalId": principal_id,
               "resourceId": resource_id, "scope": str(body.get("scope") or "")}
        return self._put("oauth2PermissionGrants", doc)

    @atomic
    def update_grant(self, key: str, body: Any) -> dict:
        doc = self.grant(key)
        self._check_properties(body, {"scope"}, {"clientId", "consentType", "principalId", "resourceId", "id"})
        if "scope" in body:
            doc["scope"] = str(body["scope"] or "")
        return self._put("oauth2PermissionGrants", doc)

    @atomic
    def delete_grant(self, key: str) -> None:
        self._delete("oauth2PermissionGrants", self.grant(key)["id"])


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def apps(ctx) -> Apps:
    """The app registry as a handler sees it: writes counted on ctx."""
    return Apps(ctx.store, ctx.tenant_id, on_write=ctx.count_write)
