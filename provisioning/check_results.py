"""What a `bcsi check` rule returns: one result per rule and object, and the exit code they make."""
from __future__ import annotations

from dataclasses import asdict, dataclass

PASS, FAIL, WARN = "pass", "fail", "warn"


@dataclass(frozen=True)
class CheckResult:
    """One rule applied to one object; `fix` is one line for a fail or warn."""

    name: str
    result: str
    object: str
    detail: str
    fix: str = ""

    def as_json(self) -> dict:
        return asdict(self)


def passed(name, obj, detail) -> CheckResult:
    return CheckResult(name, PASS, obj, detail)


def failed(name, obj, detail, fix) -> CheckResult:
    return CheckResult(name, FAIL, obj, detail, fix)


def warned(name, obj, detail, fix) -> CheckResult:
    return CheckResult(name, WARN, obj, detail, fix)


def exit_code(results: list[CheckResult]) -> int:
    """0 when nothing failed (warnings allowed), 1 otherwise."""
    return 1 if any(r.result == FAIL for r in results) else 0
