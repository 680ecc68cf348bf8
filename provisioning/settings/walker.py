"""How a section is walked: maps with known keys, required keys, lists without repeats, files that must exist.

`Walker` records every problem in one `Problems` and returns None for a value that failed, so the section
rules in `sections` read as a list of what each key may hold.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from provisioning.settings.checks import PLAIN_ONLY, Checker, Invalid, Text, check, list_value, map_value
from provisioning.settings.member_files import ALLOWED_FILE, FILE_KEY, is_file_reference, member_path, read_member_lines
from provisioning.settings.model import NAMESPACE
from provisioning.settings.problems import Problems, child, is_secure, show


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
        return self.unique(item, [(raw, lambda problem, allowed, i=index: self.p.add(f"{key}[{i}]", problem, allowed),
                                   f"[{index}]") for index, raw in enumerate(items)])

    def member_list(self, key: str, value: Any, item: Checker, allowed: str) -> tuple[str, ...] | None:
        """A member list: inline like `unique_list`, or `{file: path}` read from a member file, whose problems
        name the file and line: `members/x.txt:3: bcsi:roles.Integration User: ...`."""
        if not is_file_reference(value):
            return self.unique_list(key, value, item, allowed)
        section = self.mapping(key, value, f"{allowed}, or {{{FILE_KEY}: {ALLOWED_FILE}}}", (FILE_KEY,))
        relative = self.required(key, section, FILE_KEY, Text(ALLOWED_FILE)) if section is not None else None
        if relative is None or len(section) != 1:
            return None
        try:
            lines = read_member_lines(member_path(self.project_dir, relative))
        except (OSError, UnicodeDecodeError) as error:
            reason = "does not exist" if isinstance(error, FileNotFoundError) else f"cannot be read: {error.__class__.__name__}"
            self.p.add(f"{key}.{FILE_KEY}", f"{show(relative)} {reason} relative to the project directory",
                       "a UTF-8 text file, one principal per line")
            return None
        return self.unique(item, [(raw, lambda problem, allowed, n=number: self.p.add_in(
            f"{relative}:{n}", key, problem, allowed), f"line {number}") for number, raw in lines])

    def unique(self, item: Checker, entries: list[tuple[Any, Callable[[str, str], None], str]]) -> tuple[str, ...] | None:
        """Entries (value, how to report a problem with it, where it is) that pass `item`, none twice
        (case-insensitive); None when any failed, every failure reported."""
        result: list[str] = []
        seen: dict[str, str] = {}
        ok = True
        for raw, report, where in entries:
            if is_secure(raw):
                report("a secure value is not allowed here", PLAIN_ONLY)
                ok = False
                continue
            try:
                checked = item.convert(raw)
            except Invalid as invalid:
                report(invalid.problem, invalid.allowed)
                ok = False
                continue
            folded = checked.lower()
            if folded in seen:
                report(f"{show(raw)} is listed twice (first at {seen[folded]})", "each entry once")
                ok = False
                continue
            seen[folded] = where
            result.append(checked)
        return tuple(result) if ok else None
