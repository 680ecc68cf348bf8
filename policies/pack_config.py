"""Builds the pack config a pipeline passes to `--policy-pack-config`: the platform's base file plus what the
pack cannot read itself — the role holders before this change (CrossGuard has no access to old state).

    python -m policies.pack_config [--base FILE] --outputs STACK_OUTPUTS_JSON > policy-config.json
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

SHRINK_POLICY = "role-assignment-shrink"


def pack_config(base: dict, stack_outputs: dict) -> dict:
    """`base` with `previousRoleAssignments` set from the stack output `roleAssignments` (README.md, *Stack outputs*), if any."""
    result = copy.deepcopy(base)
    previous = stack_outputs.get("roleAssignments")
    if isinstance(previous, dict):
        section = result.setdefault(SHRINK_POLICY, {})
        if isinstance(section, str):  # an enforcement level alone
            section = result[SHRINK_POLICY] = {"enforcementLevel": section}
        section["previousRoleAssignments"] = previous
    return result


def _read_json(path: str | None, what: str) -> dict:
    if not path:
        return {}
    try:
        text = Path(path).read_text().strip()
        value = json.loads(text) if text else {}
    except (OSError, json.JSONDecodeError) as error:
        raise SystemExit(f"{path}: cannot read {what}: {error}")
    if not isinstance(value, dict):
        raise SystemExit(f"{path}: {what} must be a JSON object")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="the platform's pack config (JSON); optional")
    parser.add_argument("--outputs", help="`pulumi stack output --json` of the stack; optional")
    args = parser.parse_args(argv)
    config = pack_config(_read_json(args.base, "pack config"), _read_json(args.outputs, "stack outputs"))
    json.dump(config, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
