"""`bcsi check` output: a plain table for terminals and logs, markdown for PR comments, json (README.md, *Checking a live environment*)."""
from __future__ import annotations

import json

from provisioning.check import FAIL, PASS, WARN, CheckResult, report

_MARK = {PASS: "pass", WARN: "WARN", FAIL: "FAIL"}


def summary_line(results: list[CheckResult]) -> str:
    counts = {kind: sum(r.result == kind for r in results) for kind in (PASS, WARN, FAIL)}
    verdict = "FAILED" if counts[FAIL] else "OK"
    return f"{verdict}: {counts[PASS]} passed, {counts[WARN]} warning(s), {counts[FAIL]} failed"


def _detail(result: CheckResult) -> str:
    return f"{result.detail} -> fix: {result.fix}" if result.fix and result.result != PASS else result.detail


def table(stack: str, results: list[CheckResult]) -> str:
    """Aligned columns RESULT, CHECK, OBJECT, DETAIL; the fix follows the detail of a fail or warn."""
    rows = [("RESULT", "CHECK", "OBJECT", "DETAIL")]
    rows += [(_MARK[r.result], r.name, r.object, _detail(r)) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"bcsi check: stack {stack}"]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] for row in rows]
    lines.append(summary_line(results))
    return "\n".join(line.rstrip() for line in lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(stack: str, results: list[CheckResult]) -> str:
    lines = [f"### bcsi check: stack `{stack}`", "", "| result | check | object | detail | fix |", "|---|---|---|---|---|"]
    lines += [f"| {_MARK[r.result]} | {_cell(r.name)} | {_cell(r.object)} | {_cell(r.detail)} | {_cell(r.fix)} |"
              for r in results]
    lines += ["", f"**{summary_line(results)}**"]
    return "\n".join(lines)


def as_json(stack: str, results: list[CheckResult]) -> str:
    return json.dumps(report(stack, results), indent=2)


RENDERERS = {"table": table, "markdown": markdown, "json": as_json}
