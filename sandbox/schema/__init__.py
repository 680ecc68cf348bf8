"""Microsoft's own schema for the services the sandbox speaks, as committed data and pure lookups.

The sandbox must refuse what Microsoft refuses: a route asks here whether an entity set, path segment, property,
navigation property or action exists before it serves a request. The data comes from Microsoft, not from our notes:

- graph-v1.0.json: generated from msgraph-sdk (Microsoft's SDK generated from the Graph v1.0 metadata) by
  scripts/generate_graph_schema.py; the SDK is not needed at run time.
- dataverse-v9.2.json: the Dataverse table/entity reference and Web API reference pages on Microsoft Learn.
- business-central-v2.0.json: the BC API v2.0 reference on Microsoft Learn and BC's AL API pages.

Each file is read once (cached); every lookup is a pure function of the data.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRAPH_PREFIX = "microsoft.graph."
DATAVERSE_PREFIX = "Microsoft.Dynamics.CRM."
# Graph JSON batching is served by the service itself, not by an SDK request builder
# (https://learn.microsoft.com/graph/json-batching).
GRAPH_EXTRA_ROOTS = ("$batch",)


def _load(name: str) -> dict:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


class GraphSchema:
    """Graph v1.0 paths (templates such as /users/{id}/assignLicense) and type properties, with inheritance."""

    def __init__(self, data: dict):
        self.data = data
        self.version = data["source"]["version"]
        self.roots = frozenset(data["roots"]) | frozenset(GRAPH_EXTRA_ROOTS)
        self._templates: dict[int, list[tuple[int, re.Pattern, str]]] = {}
        for template in data["paths"]:
            segments = template.strip("/").split("/")
            literal = sum("{" not in s for s in segments)
            pattern = re.compile("/".join(_segment_pattern(s) for s in segments) + r"\Z")
            self._templates.setdefault(len(segments), []).append((-literal, pattern, template))
        for candidates in self._templates.values():
            candidates.sort(key=lambda c: (c[0], c[2]))
        # every leading part of every template, for unknown_segment()
        self._prefixes: dict[int, list[re.Pattern]] = {}
        for prefix in {tuple(t.strip("/").split("/")[:n]) for t in data["paths"]
                       for n in range(1, t.strip("/").count("/") + 2)}:
            pattern = re.compile("/".join(_segment_pattern(s) for s in prefix) + r"\Z")
            self._prefixes.setdefault(len(prefix), []).append(pattern)

    def has_root(self, segment: str) -> bool:
        """An entity set, singleton or key-form root (`users`, `organization`, `applications(appId='{appId}')`)."""
        return segment in self.roots or any(_segment_matches(root, segment) for root in self.roots if "{" in root)

    def covers(self, path: str) -> bool:
        """Whether the file records this region: a recorded root and at most `pathDepth` segments.

        Outside it a missing template means "not recorded", not "unknown to Microsoft".
        """
        segments = _graph_path(path).split("/")
        return (len(segments) <= self.data["pathDepth"]
                and any(_segment_matches(root, segments[0]) for root in self.data["recordedRoots"]))

    def template(self, path: str) -> str | None:
        """The SDK path template a concrete path matches (most literal segments first), or None."""
        segments = _graph_path(path).split("/")
        for _, pattern, template in self._templates.get(len(segments), ()):
            if pattern.match("/".join(segments)):
                return template
        return None

    def unknown_segment(self, path: str) -> str | None:
        """The first segment of `path` that no Graph path has at its place (`users/u1/foo` -> `foo`), or None when
        every segment is known or the path leaves the recorded region (where the file cannot tell)."""
        segments = _graph_path(path).split("/")
        if not self.has_root(segments[0]):
            return segments[0]
        if not self.covers(path):
            return None
        for depth in range(2, len(segments) + 1):
            prefix = "/".join(segments[:depth])
            if not any(pattern.match(prefix) for pattern in self._prefixes.get(depth, ())):
                return segments[depth - 1]
        return None

    def methods(self, path: str) -> frozenset[str]:
        template = self.template(path)
        return frozenset(self.data["paths"][template]["methods"]) if template else frozenset()

    def query_options(self, path: str) -> frozenset[str]:
        template = self.template(path)
        return frozenset(self.data["paths"][template]["query"]) if template else frozenset()

    def action_parameters(self, path: str, method: str = "POST") -> frozenset[str] | None:
        """The JSON parameters of an action such as assignLicense; None when the path is no action."""
        template = self.template(path)
        spec = self.data["paths"][template]["methods"].get(method.upper()) if template else None
        return frozenset(spec["parameters"]) if spec and "parameters" in spec else None

    def has_type(self, type_name: str) -> bool:
        return _graph_type(type_name) in self.data["types"]

    def properties(self, type_name: str) -> frozenset[str]:
        """The JSON property names of a type, inherited ones included (user -> directoryObject -> entity)."""
        names, current = set(), _graph_type(type_name)
        while current:
            entry = self.data["types"][current]
            names |= set(entry["properties"])
            current = entry["base"]
        return frozenset(names)

    def has_property(self, type_name: str, name: str) -> bool:
        return self.has_type(type_name) and name in self.properties(type_name)


class DataverseSchema:
    """Dataverse tables by entity set, their columns (`_x_value` for lookups), navigation and operations."""

    def __init__(self, data: dict):
        self.data = data
        self.entities = data["entities"]
        self.errors = data["errors"]
        self._by_set = {entry["entitySet"]: logical for logical, entry in self.entities.items()}

    def entity_for_set(self, entity_set: str) -> str | None:
        """systemusers -> systemuser; names are case-sensitive, as in Dataverse."""
        return self._by_set.get(entity_set)

    def has_attribute(self, entity: str, name: str) -> bool:
        """A property a record carries: a plain column, or a lookup as `_<lookup>_value` (never the bare lookup)."""
        entry = self.entities.get(entity)
        if entry is None:
            return False
        match = re.fullmatch(r"_(\w+)_value", name)
        return name in entry["attributes"] or bool(match and match.group(1) in entry["lookups"])

    def lookup_targets(self, entity: str, lookup: str) -> tuple[str, ...] | None:
        entry = self.entities.get(entity)
        targets = entry["lookups"].get(lookup) if entry else None
        return tuple(targets) if targets is not None else None

    def navigation_target(self, entity: str, name: str) -> str | None:
        """The table a navigation property leads to (single-valued, one-to-many or many-to-many), or None."""
        entry = self.entities.get(entity)
        if entry is None:
            return None
        many = entry["manyToMany"].get(name)
        return (entry["singleValuedNavigation"].get(name) or entry["collectionValuedNavigation"].get(name)
                or (many["target"] if many else None))

    def has_navigation(self, entity: str, name: str) -> bool:
        return self.navigation_target(entity, name) is not None

    def operation(self, name: str) -> dict | None:
        """An action or function (`WhoAmI`, `Microsoft.Dynamics.CRM.SetBusinessSystemUser`, `WhoAmI()`)."""
        bare = name.removeprefix(DATAVERSE_PREFIX).split("(", 1)[0]
        return self.data["operations"].get(bare)


class BusinessCentralSchema:
    """BC API v2.0 entity sets (root and under companies(id)) and the fields of each entity."""

    def __init__(self, data: dict):
        self.data = data
        self.entities = data["entities"]
        self.errors = data["errors"]

    def has_root(self, entity_set: str) -> bool:
        return entity_set in self.data["root"]

    def has_company_entity_set(self, entity_set: str) -> bool:
        return entity_set in self.data["companyEntitySets"]

    def entity_for_set(self, entity_set: str) -> str | None:
        """The entity served by a set, where this file records its fields (salespeoplePurchasers -> ...)."""
        return self.data["root"].get(entity_set) or self.data["companyEntitySets"].get(entity_set)

    def fields(self, entity: str) -> frozenset[str]:
        return frozenset(self.entities[entity]["fields"]) if entity in self.entities else frozenset()

    def has_field(self, entity: str, name: str) -> bool:
        return name in self.fields(entity)


@cache
def graph() -> GraphSchema:
    return GraphSchema(_load("graph-v1.0.json"))


@cache
def dataverse() -> DataverseSchema:
    return DataverseSchema(_load("dataverse-v9.2.json"))


@cache
def business_central() -> BusinessCentralSchema:
    return BusinessCentralSchema(_load("business-central-v2.0.json"))


def _graph_path(path: str) -> str:
    return path.split("?", 1)[0].strip("/").removeprefix("v1.0/").strip("/")


def _graph_type(name: str) -> str:
    return name.removeprefix("#").removeprefix(GRAPH_PREFIX)


def _segment_pattern(segment: str) -> str:
    """A template segment as a regex: `{id}` is one segment, literals (`$ref`, `appId='`) are themselves."""
    return "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", segment))


def _segment_matches(template: str, segment: str) -> bool:
    return re.fullmatch(_segment_pattern(template), segment) is not None
