"""`bcsi export`'s long member lists: moved into member files beside the stack file, so the stack stays readable and
within what the engine can start a program with (provisioning/settings/member_files.py explains the limit)."""
from __future__ import annotations

import copy
import re
from pathlib import Path

from provisioning.settings.member_files import FILE_KEY
from provisioning.settings.sources import relative_path

LONG_LIST = 500   # members; a longer list goes to a file


def member_file_dir(out: Path, stack: str) -> Path:
    """stacks/members/<stack>/ beside stacks/Pulumi.<stack>.yaml."""
    return out.parent / "members" / stack


def split_long_lists(config: dict, stack: str, out: Path, project_dir: Path, longer_than: int = LONG_LIST
                     ) -> tuple[dict, dict[Path, tuple[list[str], str]]]:
    """(the config with each member list longer than `longer_than` replaced by `{file: path}`, {file: (members,
    what they are)}); paths in the config are relative to the project directory when the file is under it."""
    config = copy.deepcopy(config)
    files: dict[Path, tuple[list[str], str]] = {}

    def to_file(members: list[str], name: str, what: str) -> list[str] | dict:
        if len(members) <= longer_than:
            return members
        path = member_file_dir(out, stack) / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-').lower()}.txt"
        files[path] = (members, f"{what} of stack {stack}, one per line (bcsi export)")
        return {FILE_KEY: relative_path(path, project_dir)}

    for sku, entry in (config.get("bcsi:licenses") or {}).items():
        if entry.get("users"):
            entry["users"] = to_file(entry["users"], f"license-{sku}", f"bcsi:licenses.{sku}.users")
    roles = config.get("bcsi:roles") or {}
    for role, members in roles.items():
        roles[role] = to_file(members, f"role-{role}", f"bcsi:roles.{role}")
    return config, files

