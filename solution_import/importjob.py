"""Runs one asynchronous solution import (or upgrade) and explains a failure by the component that failed.

Dataverse runs one solution operation at a time: an import started while another runs fails with error code
-2147020463 (0x80071151), "Please try again later"
(https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/concurrent-solution-operation-failures).
That refusal raises SolutionOperationBusy, for the caller to wait and try again.
"""
from __future__ import annotations

import base64
import time
import uuid
from xml.etree import ElementTree

import pulumi

from mscloud.errors import NotFound, ServiceError
from mscloud.outcome import converge_after_drop
from solution_import.common import DataverseSetupError

# asyncoperation statuscode values
SUCCEEDED, FAILED, CANCELED = 30, 31, 32
SOLUTION_OPERATION_BUSY = -2147020463     # 0x80071151: another solution operation is running
# An import job id already used: DuplicatedJobId 0x80071152, DuplicatedJobIdDueToConcurrency 0x80071155, or the
# generic duplicate key 0x80040237 (https://learn.microsoft.com/power-apps/developer/data-platform/reference/
# web-service-error-codes). After a dropped connection it means the first request started the import.
JOB_ID_TAKEN = frozenset({"0x80071152", "0x80071155", "0x80040237"})
STATUS_NAMES = {0: "waiting for resources", 10: "waiting", 20: "in progress", 21: "pausing", 22: "canceling",
                30: "succeeded", 31: "failed", 32: "canceled"}


class ImportFailed(Exception):
    """Dataverse reported the import as failed; the message names the failing component."""


class SolutionOperationBusy(Exception):
    """Dataverse did not start the import because another solution operation runs; the text is Dataverse's."""


def _busy(code) -> bool:
    """The error code (the async operation's integer or the Web API's '0x…') of 'another operation runs'."""
    if isinstance(code, str) and code.lower().startswith("0x"):
        code = int(code, 16) - (1 << 32)
    return code == SOLUTION_OPERATION_BUSY


def failing_components(data_xml: str | None) -> list[str]:
    """From importjob `data`: '<kind> <name>: <error text>' for each component whose result is a failure."""
    if not data_xml:
        return []
    try:
        root = ElementTree.fromstring(data_xml)
    except ElementTree.ParseError:
        return []
    failures = []
    for element in root.iter():
        for result in element.findall("result"):
            if (result.get("result") or "").lower() != "failure":
                continue
            name = element.get("LocalizedName") or element.get("name") or element.get("id") or ""
            text = result.get("errortext") or result.get("errorcode") or "failed"
            failures.append(f"{element.tag} {name}: {text}".strip() + _missing_dependencies(element))
    return failures


def _missing_dependencies(element: ElementTree.Element) -> str:
    """' (missing: <component> from solution <name>, ...)' when the manifest lists missing dependencies."""
    missing = []
    for dependency in element.iter("MissingDependency"):
        required = dependency.find("Required")
        if required is not None:
            what = required.get("schemaName") or required.get("displayName") or "?"
            missing.append(f"{what} from solution {required.get('solution') or '?'}")
    return f" (missing: {', '.join(missing)})" if missing else ""


def run_import(dataverse, package_bytes: bytes, unique_name: str, version: str, timeout_seconds: float,
               action: str = "ImportSolutionAsync", deadline: float | None = None, poll_seconds: float = 0.5,
               max_poll_seconds: float = 5.0) -> None:
    """`action` (ImportSolutionAsync or StageAndUpgradeAsync), then poll the async operation until it ends or the
    deadline (time.monotonic(); default: timeout_seconds from now) passes."""
    deadline = time.monotonic() + timeout_seconds if deadline is None else deadline
    import_job_id = str(uuid.uuid4())
    answer = _start(dataverse, action, package_bytes, import_job_id, f"{unique_name} {version}")
    if answer is None:       # started by a request whose answer was lost: follow its import job instead
        _await_job(dataverse, import_job_id, unique_name, version, timeout_seconds, deadline, poll_seconds,
                   max_poll_seconds)
        return
    operation_id = answer["AsyncOperationId"]
    import_job_id = answer.get("ImportJobKey") or import_job_id
    verb = "upgrading" if action == "StageAndUpgradeAsync" else "importing"
    pulumi.log.info(f"{verb} solution {unique_name} {version} (async operation {operation_id})")
    last_status = None
    for _ in _polls(deadline, poll_seconds, max_poll_seconds):
        op = dataverse.get("asyncoperations", operation_id,
                           select=["statecode", "statuscode", "message", "friendlymessage", "errorcode"])
        status = op.get("statuscode")
        if status != last_status:
            pulumi.log.info(f"solution {unique_name} import: {STATUS_NAMES.get(status, status)}")
            last_status = status
        if status == SUCCEEDED:
            return
        if status in (FAILED, CANCELED) or op.get("statecode") == 3:
            if _busy(op.get("errorcode")):
                raise SolutionOperationBusy(op.get("message") or op.get("friendlymessage") or "")
            raise ImportFailed(_failure_text(dataverse, import_job_id, unique_name, version, op))
    raise DataverseSetupError(
        f"solution {unique_name} {version}: import still running after {timeout_seconds:g} s "
        f"(async operation {operation_id}); raise importTimeoutSeconds or check the import in Dataverse")


def _polls(deadline: float, poll_seconds: float, max_poll_seconds: float):
    """One turn per poll: the first at once, then after waits growing 1.5× up to max_poll_seconds; the last turn is
    the first one at or past the deadline (time.monotonic())."""
    delay = poll_seconds
    while True:
        yield
        if time.monotonic() >= deadline:
            return
        time.sleep(delay)
        delay = min(delay * 1.5, max_poll_seconds)


def _start(dataverse, action: str, package_bytes: bytes, import_job_id: str, what: str) -> dict | None:
    """Start the import; the action's answer, or None when it was started by a request whose connection dropped.

    The ImportJobId is ours, so after a drop the import job is re-read; if it is not there the same request (same
    job id) is sent again, and a refusal of that job id as taken means the first one started it after all."""
    body = {"OverwriteUnmanagedCustomizations": False, "PublishWorkflows": True,
            "CustomizationFile": base64.b64encode(package_bytes).decode("ascii"), "ImportJobId": import_job_id}

    def missing(pending):
        try:
            dataverse.get("importjobs", import_job_id, select=["importjobid"])
            return []
        except NotFound:
            return pending

    try:
        return converge_after_drop([import_job_id], lambda _: dataverse.action(action, body), missing,
                                   during=f"starting the import of solution {what}",
                                   reread=f"import job {import_job_id}", report=pulumi.log.info)
    except ServiceError as refused:
        if _busy(refused.code):
            raise SolutionOperationBusy(refused.message) from None
        if str(refused.code).lower() in JOB_ID_TAKEN:
            return None
        raise


def _await_job(dataverse, import_job_id: str, unique_name: str, version: str, timeout_seconds: float,
               deadline: float, poll_seconds: float, max_poll_seconds: float) -> None:
    """Poll the import job (its async operation id was in the lost answer) until it completes; fail naming the
    failing components."""
    for _ in _polls(deadline, poll_seconds, max_poll_seconds):
        try:
            job = dataverse.get("importjobs", import_job_id, select=["data", "progress", "completedon"])
        except NotFound:       # not written yet: the async service has not started it
            job = {}
        if job.get("completedon"):
            components = failing_components(job.get("data"))
            if components:
                raise ImportFailed(f"solution {unique_name} {version} import failed: {'; '.join(components)}")
            return
    raise DataverseSetupError(
        f"solution {unique_name} {version}: import job {import_job_id} still running after "
        f"{timeout_seconds:g} s; raise importTimeoutSeconds or check the import in Dataverse")


def _failure_text(dataverse, import_job_id: str, unique_name: str, version: str, op: dict) -> str:
    """The failing components from the import job; the async operation's message when the job never started."""
    try:
        job = dataverse.get("importjobs", import_job_id, select=["data", "progress", "solutionname"])
    except NotFound:        # the system job failed before it wrote its import job row
        job = {}
    components = failing_components(job.get("data"))
    reason = "; ".join(components) if components else (op.get("friendlymessage") or op.get("message") or "no detail")
    return f"solution {unique_name} {version} import failed: {reason}"
