"""Member lists kept in files, and the engine's limit that makes them necessary for large stacks.

The Python language host hands the program its whole stack config in one environment variable (PULUMI_CONFIG,
read in pulumi/runtime/config.py), and Linux refuses to start a process with one environment string over
128 KiB (MAX_ARG_STRLEN: `pulumi up` fails with "argument list too long"). A stack that lists thousands of users
inline cannot run, so `bcsi:licenses.<SKU>.users` and `bcsi:roles.<role>` may name a file instead:
`{file: members/sales-users.txt}`, relative to the project directory, one principal per line, `#` comments and
blank lines ignored.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from provisioning.settings.problems import is_secure

FILE_KEY = "file"
ALLOWED_FILE = "a text file relative to the project directory, like members/sales-users.txt"
# What the engine can start a program with (128 KiB, Linux's MAX_ARG_STRLEN) less a margin for the keys the
# stack file does not show (the project name's namespace, Go's JSON escapes, decrypted secrets).
ENGINE_CONFIG_LIMIT = 120 * 1024


def is_file_reference(value: Any) -> bool:
    """A member list given as a file: a map (the walker reports a map without exactly `file`)."""
    return isinstance(value, dict) and not is_secure(value)


def member_path(project_dir: Path | None, relative: str) -> Path:
    """Where a member file lives: relative to the project directory (the current one when there is none)."""
    path = Path(relative)
    if path.is_absolute():
        return path
    return (project_dir or Path.cwd()) / path


def read_member_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, principal) for each line that holds one; raises OSError/UnicodeDecodeError when unreadable."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            entries.append((number, text))
    return entries


def write_member_file(path: Path, members: list[str], header: str) -> None:
    """The form `read_member_lines` reads: a comment, then one principal per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {header}\n" + "".join(f"{member}\n" for member in members), encoding="utf-8")


def engine_config_size(config: Mapping[str, Any]) -> int:
    """PULUMI_CONFIG's length as the engine builds it: a JSON map of key to text, structured values as JSON."""
    return len(json.dumps({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}))


def engine_limit_problem(config: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(key, problem, allowed) when the config would not fit the engine, naming its largest key; else None."""
    size = engine_config_size(config)
    if size <= ENGINE_CONFIG_LIMIT:
        return None
    largest = max(config, key=lambda k: engine_config_size({k: config[k]}))
    return (str(largest),
            f"the stack's config is {size:,} bytes as the engine passes it to the program (PULUMI_CONFIG), over the "
            f"{ENGINE_CONFIG_LIMIT:,} it can start a program with (Linux: 128 KiB per environment string); "
            f"this key holds {engine_config_size({largest: config[largest]}):,} of them",
            "long member lists in files: users: {file: members/sales-users.txt}, or "
            "Integration User: {file: members/integration-users.txt}")
