"""Rendering a `bcsi plan`: JSON (README.md, *Reviewing changes*), a terminal table grouped by principal, a Markdown PR comment."""
from __future__ import annotations

import io
import json
import shutil
from itertools import groupby

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from provisioning.plan import Plan

FORMATS = ("table", "markdown", "json")
SIGN = {"grant": "+", "revoke": "-"}


def render(plan: Plan, fmt: str) -> str:
    return {"json": as_json, "markdown": as_markdown, "table": as_table}[fmt](plan)


def as_json(plan: Plan) -> str:
    return json.dumps(plan.as_json(), indent=2) + "\n"


def headline(plan: Plan) -> str:
    """'stack dev: 3 grants, 1 revoke' or 'stack dev: no changes'."""
    if not plan.changes:
        return f"stack {plan.stack}: no changes"
    grants, revokes = plan.count("grant"), plan.count("revoke")
    return f"stack {plan.stack}: {_count(grants, 'grant')}, {_count(revokes, 'revoke')}"


def as_markdown(plan: Plan) -> str:
    """A PR comment: the summary line first, then one row per change (principals grouped)."""
    lines = [f"**bcsi plan — {headline(plan)}**", ""]
    lines += [f"> note: {note}" for note in plan.notes] + ([""] if plan.notes else [])
    if not plan.changes:
        lines.append("Permissions in the tenant and in Dataverse already match the stack.")
        return "\n".join(lines) + "\n"
    lines += ["| principal | change | kind | target | scope |", "|---|---|---|---|---|"]
    for principal, changes in groupby(plan.changes, key=lambda c: c.principal):
        for i, c in enumerate(changes):
            who = f"`{_cell(principal)}`" if i == 0 else ""
            lines.append(f"| {who} | {SIGN[c.action]} {c.action} | {c.kind} | {_cell(c.target)} | {_cell(c.scope)} |")
    return "\n".join(lines) + "\n"


def as_table(plan: Plan, width: int | None = None) -> str:
    """The table as plain text (no colour), e.g. for a file or a test."""
    out = io.StringIO()
    print_table(plan, Console(file=out, width=width or max(shutil.get_terminal_size((120, 24)).columns, 100),
                              force_terminal=False, highlight=False))
    return out.getvalue()


def print_table(plan: Plan, console: Console) -> None:
    """Readable in a terminal: one block per principal, grants green and revokes red when colour is on."""
    console.print(escape(f"bcsi plan — {headline(plan)}"), highlight=False)
    for note in plan.notes:
        console.print(escape(f"note: {note}"), highlight=False)
    if not plan.changes:
        return
    table = Table(pad_edge=False)
    for column in ("principal", "change", "kind"):
        table.add_column(column, no_wrap=True)
    for column in ("target", "scope"):
        table.add_column(column, overflow="fold")
    for principal, changes in groupby(plan.changes, key=lambda c: c.principal):
        changes = list(changes)
        for i, c in enumerate(changes):
            style = "green" if c.action == "grant" else "red"
            table.add_row(escape(principal) if i == 0 else "", f"[{style}]{SIGN[c.action]} {c.action}[/]", c.kind,
                          escape(c.target), escape(c.scope), end_section=i == len(changes) - 1)
    console.print(table)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
