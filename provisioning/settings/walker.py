"""How a section is walked: maps with known keys, required keys, lists without repeats, files that must exist.

`Walker` records every problem in one `Problems` and returns None for a value that failed, so the section
rules in `sections` read as a list of what each key may hold.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from provisioning.settings.checks import Checker, check, list_value, map_value
from provisioning.settings.model import NAMESPACE
from provisioning.settings.problems import Problems, child, show


class Walker:
    """The `bcsi:` values of one source and the problems found in them so far."""

    def __init__(self, problems: Problems, values: dict[str, Any], project_dir: Path | None):
        self.p = problems
        self.values = values
        self.project_dir = project_dir

    def key(self, name: str) -> str:
        return f"{NAMESPACE}:{name}"

    def check(self, key: str, value: Any, checker: Checker) -> Any:
        return check(self.p, key, value, checker)

    def mapping(self, key: str, value: Any, allowed: str, keys: Sequence[str] | None = None) -> dict | None:
        """A map; with `keys`, any other key is a problem of its own (the map is still returned)."""
        section = self.check(key, value, map_value(allowed))
        if section is not None and keys is not None:
            for name in section:
                if name not in keys:
                    self.p.add(child(key, name), "unknown key", ", ".join(keys))
        return section

    def required_section(self, name: str, allowed: str, keys: Sequence[str]) -> dict | None:
        """A top-level map the stack must set: missing is a problem offering `allowed`."""
        if name not in self.values:
            self.p.add(self.key(name), "is missing", allowed)
            return None
        return self.mapping(self.key(name), self.values[name], allowed, keys)

    def required(self, key: str, container: dict, name: str, checker: Checker) -> Any:
        """`container[name]` checked by `checker`; missing (or empty) is a problem offering what `checker` allows."""
        if name not in container or container[name] is None:
            self.p.add(f"{key}.{name}", "is missing", checker.allowed)
            return None
        return self.check(f"{key}.{name}", container[name], checker)

    def not_here(self, key: str, container: dict, names: Sequence[str], why: str) -> None:
        for name in names:
            if name in container:
                self.p.add(f"{key}.{name}", f"is not used {why}", "remove it")

    def existing_file(self, key: str, relative: str, allowed: str) -> None:
        if self.project_dir is None:
            return
        path = Path(relative)
        if not path.is_absolute():
            path = self.project_dir / path
        if not path.is_file():
            self.p.add(key, f"{show(relative)} does not exist relative to the project directory", allowed)

    def unique_list(self, key: str, value: Any, item: Checker, allowed: str) -> tuple[str, ...] | None:
        """A list whose items pass `item`, with no item twice (case-insensitive); None is empty."""
        if value is None:
            return ()
        items = self.check(key, value, list_value(allowed))
        if items is None:
            return None
        result: list[str] = []
        seen: dict[str, int] = {}
        ok = True
        for index, raw in enumerate(items):
            checked = self.check(f"{key}[{index}]", raw, item)
            if checked is None:
                ok = False
                continue
            folded = checked.lower()
            if folded in seen:
                self.p.add(f"{key}[{index}]", f"{show(raw)} is listed twice (first at [{seen[folded]}])", "each entry once")
                ok = False
                continue
            seen[folded] = index
            result.append(checked)
        return tuple(result) if ok else None
