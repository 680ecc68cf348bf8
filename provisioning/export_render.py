"""`bcsi export`'s output: the stack file (YAML with comments) and the summary printed after writing it."""
from __future__ import annotations

import textwrap
from datetime import date

import yaml

WIDTH = 110


def comment(text: str, indent: str = "") -> list[str]:
    """One comment wrapped to WIDTH, each line starting with `indent# `."""
    return [f"{indent}# {line}" for line in textwrap.wrap(text, WIDTH - len(indent) - 2, break_on_hyphens=False)]


def stack_file(export, stack: str, source: str, today: date | None = None) -> str:
    """The whole stack file: a header, `config:` with a comment above each key that has one, the not-adopted list."""
    today = today or date.today()
    lines = comment(f"Stack {stack}: exported by `bcsi export` on {today.isoformat()} from {source}.")
    lines += comment("The first `pulumi up` adopts what exists (every resource finds its object by natural key) and "
                     "writes nothing, except what the list at the end names. Secrets are never exported. Every key "
                     "is described in provisioning/README.md.")
    lines.append("config:")
    for key, value in export.config.items():
        for note in export.comments.get(key, ()):
            lines += comment(note, "  ")
        block = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
        lines += ["  " + line for line in block.splitlines()]
    lines += not_adopted_lines(export.not_adopted)
    return "\n".join(lines) + "\n"


def not_adopted_lines(items: list[str]) -> list[str]:
    if not items:
        return comment("Everything above was adopted exactly.")
    lines = comment(f"Not adopted exactly ({len(items)}):")
    for item in items:
        wrapped = textwrap.wrap(item, WIDTH - 6, break_on_hyphens=False)
        lines += [f"# - {wrapped[0]}"] + [f"#   {line}" for line in wrapped[1:]]
    return lines


def summary(export, path: str) -> list[str]:
    """What the command prints after writing the file: counts, then each thing not adopted exactly."""
    config = export.config
    roles = config.get("bcsi:roles") or {}
    licenses = config.get("bcsi:licenses") or {}
    identity = config.get("bcsi:identity") or {}
    principal = (identity.get("app") or {}).get("appId") or (identity.get("user") or {}).get("userPrincipalName")
    lines = [f"wrote {path}: integration principal {principal}, "
             f"{sum(len(v) for v in roles.values())} role holder(s) in {len(roles)} role(s), "
             f"{sum(len(e.get('users') or ()) for e in licenses.values())} licensed user(s) and "
             f"{sum(len(e.get('groups') or ()) for e in licenses.values())} group(s) in {len(licenses)} SKU(s), "
             f"{len(config.get('bcsi:salespersons') or {})} salesperson proposal(s)"]
    if export.not_adopted:
        lines.append(f"not adopted exactly ({len(export.not_adopted)}):")
        lines += [f"- {item}" for item in export.not_adopted]
    else:
        lines.append("everything was adopted exactly: `pulumi up` will write nothing")
    return lines
