"""The tables the sandbox serves, described as Dataverse's EntityDefinitions describe them.

Routes use this to resolve an entity set, its key, its lookups (`_x_value` columns bound with
`x@odata.bind`) and its navigation properties; `EntityDefinitions` serves it as metadata.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

_NS = uuid.UUID("6b1d3f0e-2a4c-4e8b-9f1a-0c5d7e9b2a41")


@dataclass(frozen=True)
class Table:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    object_type_code: int
    attributes: tuple[str, ...]                  # plain columns, besides the primary id
    lookups: dict[str, str] = field(default_factory=dict)      # lookup attribute -> target entity set
    collections: dict[str, str] = field(default_factory=dict)  # N:N navigation property -> target entity set
    writable: bool = False                       # POST/PATCH/DELETE through the generic routes

    @property
    def metadata_id(self) -> str:
        return str(uuid.uuid5(_NS, self.logical_name))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every property a record carries on the wire."""
        return (self.primary_id, *self.attributes, *(f"_{name}_value" for name in self.lookups))

    def definition(self) -> dict:
        return {
            "MetadataId": self.metadata_id,
            "LogicalName": self.logical_name,
            "SchemaName": self.logical_name.capitalize() if self.logical_name != "systemuser" else "SystemUser",
            "EntitySetName": self.entity_set,
            "LogicalCollectionName": self.entity_set,
            "CollectionSchemaName": self.entity_set.capitalize(),
            "PrimaryIdAttribute": self.primary_id,
            "PrimaryNameAttribute": self.primary_name,
            "ObjectTypeCode": self.object_type_code,
            "IsCustomEntity": False,
            "IsManaged": True,
            "OwnershipType": "BusinessOwned" if "owningbusinessunit" in self.lookups else "None",
            "DisplayName": {"UserLocalizedLabel": {"Label": self.logical_name, "LanguageCode": 1033},
                            "LocalizedLabels": [{"Label": self.logical_name, "LanguageCode": 1033}]},
        }


TABLES: tuple[Table, ...] = (
    Table("organization", "organizations", "organizationid", "name", 1019, ("name",),
          lookups={"basecurrencyid": "transactioncurrencies"}),
    Table("businessunit", "businessunits", "businessunitid", "name", 10, ("name", "isdisabled"),
          lookups={"parentbusinessunitid": "businessunits"}, writable=True),
    Table("systemuser", "systemusers", "systemuserid", "fullname", 8,
          ("domainname", "internalemailaddress", "fullname", "firstname", "lastname", "applicationid",
           "azureactivedirectoryobjectid", "accessmode", "isdisabled", "isintegrationuser", "islicensed"),
          lookups={"businessunitid": "businessunits"},
          collections={"systemuserroles_association": "roles", "teammembership_association": "teams"},
          writable=True),
    Table("role", "roles", "roleid", "name", 1036, ("name", "ismanaged", "solutionid", "iscustomizable"),
          lookups={"businessunitid": "businessunits", "roletemplateid": "roletemplates",
                   "parentrootroleid": "roles"},
          collections={"systemuserroles_association": "systemusers", "teamroles_association": "teams"},
          writable=True),
    Table("team", "teams", "teamid", "name", 9, ("name", "teamtype", "isdefault", "membershiptype",
                                                 "azureactivedirectoryobjectid", "description"),
          lookups={"businessunitid": "businessunits", "administratorid": "systemusers"},
          collections={"teammembership_association": "systemusers", "teamroles_association": "roles"},
          writable=True),
    Table("transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname", 9105,
          ("isocurrencycode", "currencyname", "currencysymbol", "exchangerate", "currencyprecision"), writable=True),
    Table("solution", "solutions", "solutionid", "friendlyname", 7100,
          ("uniquename", "friendlyname", "version", "ismanaged", "isvisible", "installedon", "description"),
          lookups={"publisherid": "publishers"}),
    Table("asyncoperation", "asyncoperations", "asyncoperationid", "name", 4700,
          ("name", "operationtype", "statecode", "statuscode", "message", "friendlymessage", "errorcode",
           "createdon", "startedon", "completedon")),
    Table("importjob", "importjobs", "importjobid", "name", 4428,
          ("name", "solutionname", "solutionid", "progress", "startedon", "completedon", "data", "createdon")),
)

BY_SET = {table.entity_set: table for table in TABLES}
BY_LOGICAL = {table.logical_name: table for table in TABLES}

# N:N relationships: navigation property -> (intersect table, {entity set: its key column in the intersect}).
RELATIONSHIPS: dict[str, tuple[str, dict[str, str]]] = {
    "systemuserroles_association": ("systemuserroles", {"systemusers": "systemuserid", "roles": "roleid"}),
    "teammembership_association": ("teammembership", {"systemusers": "systemuserid", "teams": "teamid"}),
    "teamroles_association": ("teamroles", {"teams": "teamid", "roles": "roleid"}),
}
