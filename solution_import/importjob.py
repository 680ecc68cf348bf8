"""Runs one asynchronous solution import and explains a failure by the component that failed."""
from __future__ import annotations

import base64
import time
import uuid
from xml.etree import ElementTree

import pulumi

from solution_import.common import DataverseSetupError

# asyncoperation statuscode values
SUCCEEDED, FAILED, CANCELED = 30, 31, 32
STATUS_NAMES = {0: "waiting for resources", 10: "waiting", 20: "in progress", 21: "pausing", 22: "canceling",
                30: "succeeded", 31: "failed", 32: "canceled"}


class ImportFailed(Exception):
    """Dataverse reported the import as failed; the message names the failing component."""


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
               poll_seconds: float = 0.5, max_poll_seconds: float = 5.0) -> None:
    """ImportSolutionAsync, then poll the async operation until it ends or the timeout passes."""
    import_job_id = str(uuid.uuid4())
    answer = dataverse.action("ImportSolutionAsync", {
        "OverwriteUnmanagedCustomizations": False,
        "PublishWorkflows": True,
        "CustomizationFile": base64.b64encode(package_bytes).decode("ascii"),
        "ImportJobId": import_job_id,
    })
    operation_id = answer["AsyncOperationId"]
    import_job_id = answer.get("ImportJobKey") or import_job_id
    pulumi.log.info(f"importing solution {unique_name} {version} (async operation {operation_id})")
    deadline = time.monotonic() + timeout_seconds
    last_status = None
    delay = poll_seconds
    while True:
        op = dataverse.get("asyncoperations", operation_id,
                           select=["statecode", "statuscode", "message", "friendlymessage"])
        status = op.get("statuscode")
        if status != last_status:
            pulumi.log.info(f"solution {unique_name} import: {STATUS_NAMES.get(status, status)}")
            last_status = status
        if status == SUCCEEDED:
            return
        if status in (FAILED, CANCELED) or op.get("statecode") == 3:
            raise ImportFailed(_failure_text(dataverse, import_job_id, unique_name, version, op))
        if time.monotonic() >= deadline:
            raise DataverseSetupError(
                f"solution {unique_name} {version}: import still running after {timeout_seconds:g} s "
                f"(async operation {operation_id}); raise importTimeoutSeconds or check the import in Dataverse"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, max_poll_seconds)


def _failure_text(dataverse, import_job_id: str, unique_name: str, version: str, op: dict) -> str:
    job = dataverse.get("importjobs", import_job_id, select=["data", "progress", "solutionname"])
    components = failing_components(job.get("data"))
    reason = "; ".join(components) if components else (op.get("friendlymessage") or op.get("message") or "no detail")
    return f"solution {unique_name} {version} import failed: {reason}"
