"""Dataverse's solution import, without HTTP: ImportSolution (sync), ImportSolutionAsync and StageAndUpgradeAsync.

An async import's operation is Waiting (0/0) for WAITING_SECONDS, In Progress (2/20, the import job's `progress`
rising) until its `__done_at` (RUNNING_SECONDS later, or later while the admin route holds it), then Completed as
Succeeded (3/30) or Failed (3/31); completion is applied lazily by `advance()` at the start of the org's next request
(no threads). Failures: a missing dependency, a lower version than installed, a role id owned by something else
(sandbox/dataverse/README.md, "Rules kept simple on purpose").

Update vs upgrade (https://learn.microsoft.com/power-apps/maker/data-platform/update-solutions): a plain import
over the installed solution is an update, "Components that are not in the newer solution won't be deleted";
StageAndUpgradeAsync is an upgrade, "Any components associated to the previous solution version that are not in
the newer solution version will be deleted."

One solution operation at a time ("Dataverse allows only one solution operation at a time":
https://learn.microsoft.com/troubleshoot/power-platform/dataverse/working-with-solutions/concurrent-solution-operation-failures):
an async import started while another runs is accepted, and its system job fails when it starts, before any
import job row is written (the reason only in the operation's `message`); a sync import is refused at once.
"""
from __future__ import annotations

import uuid
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from solution_import.package import PackageError, SolutionPackage, parse
from solution_import.versions import version_tuple

from . import errors
from .models import Caller, OrgModel, iso, normalize_guid, stable_id

# Async import timing, measured from creation: waiting, then in progress, then completed.
WAITING_SECONDS = 0.3
RUNNING_SECONDS = 1.0


class SolutionImports:
    """One org's solution imports: start them, advance them, show them as the Web API does."""

    def __init__(self, model: OrgModel):
        self.model = model

    def import_solution(self, caller: Caller, customization_file: bytes, import_job_id: str | None,
                        asynchronous: bool, upgrade: bool = False) -> tuple[str, str | None]:
        """Start (async) or run (sync) an import; returns (importjobid, asyncoperationid or None).

        upgrade=True is StageAndUpgradeAsync: components the new version dropped are deleted.
        """
        self.model.require_customizer(caller)
        try:
            package = parse(customization_file)
        except PackageError as error:
            raise errors.package_refused(error) from None
        now = self.model.clock()
        busy = bool(self.running())
        if busy and not asynchronous:
            raise errors.solution_operation_busy()
        job_id = normalize_guid(import_job_id) if import_job_id else str(uuid.uuid4())
        if self.model.store.get(self.model.kind("importjobs"), job_id) is not None:
            raise errors.duplicated_job_id()
        job = {"importjobid": job_id, "name": "Customizations", "solutionname": package.unique_name,
               "solutionid": None, "progress": 0.0, "createdon": iso(now), "startedon": None,
               "completedon": None, "data": None, "__package": _package_state(package), "__upgrade": upgrade}
        if not asynchronous:
            job["startedon"] = iso(now)
            failure = self._complete_import(job, now)
            self.model.put("importjobs", job)
            if failure:
                raise errors.bad_request(failure[1], failure[0])
            return job_id, None
        operation_id = str(uuid.uuid4())
        operation = {"asyncoperationid": operation_id, "name": f"Import of solution {package.unique_name}",
                     "operationtype": 103, "statecode": 0, "statuscode": 0, "message": None,
                     "friendlymessage": None, "errorcode": None, "createdon": iso(now), "startedon": None,
                     "completedon": None, "__created": now, "__pending": True, "__importjobid": job_id,
                     "__done_at": now + WAITING_SECONDS + (0 if busy else RUNNING_SECONDS), "__blocked": busy}
        if not busy:   # a job that cannot start never writes its import job row
            job["__asyncoperationid"] = operation_id
            job["__created"] = now
            self.model.put("importjobs", job)
        self.model.put("asyncoperations", operation)
        return job_id, operation_id

    def running(self) -> list[dict]:
        """The async imports in progress now (started, not blocked, not yet complete)."""
        return [op for op in self.model.store.find(self.model.kind("asyncoperations"), **{"__pending": True})
                if not op.get("__blocked") and op["__done_at"] > self.model.clock()]

    def hold(self, seconds: float) -> list[str]:
        """Let every running import end `seconds` from now (a long import for tests; 0 lets them end now)."""
        until = self.model.clock() + seconds
        held = []
        with self.model.lock:
            for operation in self.running():
                operation["__done_at"] = until
                self.model.store.put(self.model.kind("asyncoperations"), operation["asyncoperationid"], operation)
                held.append(operation["asyncoperationid"])
        return held

    def advance(self) -> None:
        """Finish the async imports whose time has come (called before every request)."""
        now = self.model.clock()
        pending = [op for op in self.model.store.find(self.model.kind("asyncoperations"), **{"__pending": True})
                   if now >= op["__done_at"]]
        if not pending:
            return
        with self.model.lock:
            for operation in pending:
                operation = self.model.store.get(self.model.kind("asyncoperations"), operation["asyncoperationid"])
                if not operation or not operation.get("__pending"):
                    continue
                done_at = operation["__done_at"]
                operation.update({"__pending": False, "statecode": 3, "completedon": iso(done_at)})
                if operation.get("__blocked"):
                    busy = errors.solution_operation_busy()
                    operation.update(statuscode=31, startedon=iso(done_at), errorcode=_signed(busy.code),
                                     message=busy.message, friendlymessage=busy.message)
                    self.model.store.put(self.model.kind("asyncoperations"), operation["asyncoperationid"], operation)
                    continue
                job = self.model.store.get(self.model.kind("importjobs"), operation["__importjobid"])
                job["startedon"] = iso(operation["__created"] + WAITING_SECONDS)
                failure = self._complete_import(job, done_at)
                operation["startedon"] = job["startedon"]
                if failure:
                    operation.update(statuscode=31, errorcode=_signed(failure[0]),
                                     message=failure[1], friendlymessage=failure[1])
                else:
                    operation.update(statuscode=30)
                # The async service's own writes: the import request that started them was counted.
                self.model.store.put(self.model.kind("importjobs"), job["importjobid"], job)
                self.model.store.put(self.model.kind("asyncoperations"), operation["asyncoperationid"], operation)

    def view_async(self, operation: dict) -> dict:
        """An async operation as seen now: waiting, then in progress, until advance() completes it."""
        if operation.get("__pending") and not operation.get("__blocked"):
            elapsed = self.model.clock() - operation["__created"]
            if elapsed >= WAITING_SECONDS:
                operation.update(statecode=2, statuscode=20, startedon=iso(operation["__created"] + WAITING_SECONDS))
        return operation

    def view_job(self, job: dict) -> dict:
        if job.get("completedon") is None and job.get("__created") is not None:
            elapsed = self.model.clock() - job["__created"]
            if elapsed >= WAITING_SECONDS:
                operation = self.model.store.get(self.model.kind("asyncoperations"), job["__asyncoperationid"]) or {}
                running = max(operation.get("__done_at", 0) - job["__created"] - WAITING_SECONDS, RUNNING_SECONDS)
                job["startedon"] = iso(job["__created"] + WAITING_SECONDS)
                job["progress"] = round(min(99.0, 100.0 * (elapsed - WAITING_SECONDS) / running), 2)
        return job

    def _complete_import(self, job: dict, now: float) -> tuple[str, str] | None:
        """Apply the package (all or nothing); fill the job's result. Returns (code, message) on failure."""
        package = job["__package"]
        installed = self.model.installed(package["unique_name"])
        failure = None
        missing = [dep for dep in package["missing_dependencies"] if not self.model.installed(dep["solution_unique_name"])]
        if missing:
            failure = (errors.IMPORT_MISSING_DEPENDENCIES,
                       f"The following solution cannot be imported: {package['unique_name']}. Some dependencies "
                       f"are missing. The missing dependencies are : {_missing_xml(missing)} , ProductUpdatesOnly : False")
        elif installed and version_tuple(package["version"]) < version_tuple(installed["version"]):
            # Message as Dataverse shows it; code unconfirmed (ImportSolutionError).
            failure = (errors.IMPORT_ERROR,
                       "The import solution must have a higher version than the existing solution it is upgrading.")
        else:
            solution_id = installed["solutionid"] if installed else str(uuid.uuid4())
            for role in package["roles"]:
                existing = self.model.store.get(self.model.kind("roles"), role["role_id"])
                if existing and existing.get("solutionid") != solution_id:
                    failure = (errors.IMPORT_ROLE_ERROR, "Cannot import security role. The role with specified "
                               "role id is not updatable or role name is not unique.")
                    break
        job["progress"] = 100.0
        job["completedon"] = iso(now)
        job["data"] = _job_data(package, job, failure, missing)
        if failure:
            return failure
        self._install(package, solution_id, now, drop_missing=bool(job.get("__upgrade")))
        job["solutionid"] = solution_id
        return None

    def _install(self, package: dict, solution_id: str, now: float, drop_missing: bool) -> None:
        """Write the solution and its roles; an upgrade (drop_missing) also deletes the roles it no longer has."""
        root = self.model.root_business_unit()["businessunitid"]
        with self.model.store.transaction():
            previous = self.model.store.get(self.model.kind("solutions"), solution_id)
            solution = {"solutionid": solution_id, "uniquename": package["unique_name"],
                        "friendlyname": package["friendly_name"], "version": package["version"],
                        "ismanaged": package["managed"], "isvisible": True,
                        "installedon": previous["installedon"] if previous else iso(now),
                        "description": None, "_publisherid_value": stable_id(self.model.org, "publisher", package["publisher"])}
            if previous != solution:
                self.model.put("solutions", solution)
            declared = {role["role_id"] for role in package["roles"]}
            for role in package["roles"]:
                doc = {"roleid": role["role_id"], "name": role["name"], "ismanaged": package["managed"],
                       "solutionid": solution_id, "iscustomizable": {"Value": not package["managed"]},
                       "_businessunitid_value": root, "_roletemplateid_value": None,
                       "_parentrootroleid_value": role["role_id"]}
                if self.model.store.get(self.model.kind("roles"), role["role_id"]) != doc:
                    self.model.put("roles", doc)
            # an upgrade drops roles the new version no longer has (copies go with their root role)
            for stale in self.model.find("roles", solutionid=solution_id) if drop_missing else ():
                if stale["roleid"] not in declared and not self.model.is_inherited_role(stale):
                    self.model.remove_links(roleid=stale["roleid"])
                    self.model.discard("roles", stale["roleid"])

    def import_result(self, job_id: str) -> dict:
        job = self.view_job(self.model.get("importjobs", job_id))
        failed = job.get("data") and 'result="failure"' in job["data"]
        status = "Failure" if failed else ("Success" if job.get("completedon") else "None")
        messages = []
        if failed:
            messages = [{"ErrorCode": -1, "Message": _failure_text(job["data"])}]
        return {"SolutionOperationResult": {"Status": status, "ErrorMessages": messages,
                                            "WarningMessages": [], "FormattedResults": [], "ActionLink": None}}


def _signed(code: str) -> int:
    """'0x80071151' -> -2147020463, the asyncoperation `errorcode` form."""
    return int(code, 16) - (1 << 32)


def _package_state(package: SolutionPackage) -> dict:
    return {"unique_name": package.unique_name, "version": package.version, "friendly_name": package.friendly_name,
            "managed": package.managed, "publisher": package.publisher,
            "roles": [{"role_id": r.role_id, "name": r.name} for r in package.roles],
            "missing_dependencies": [{"schema_name": d.schema_name, "display_name": d.display_name,
                                      "component_type": d.component_type, "solution": d.solution,
                                      "solution_unique_name": d.solution_unique_name, "dependent": d.dependent}
                                     for d in package.missing_dependencies]}


def _missing_xml(missing: list[dict]) -> str:
    items = "".join(
        f"<MissingDependency><Required type={quoteattr(d['component_type'])} schemaName={quoteattr(d['schema_name'])} "
        f"displayName={quoteattr(d['display_name'])} solution={quoteattr(d['solution'])} />"
        f"<Dependent schemaName={quoteattr(d['dependent'])} /></MissingDependency>" for d in missing)
    return f"<MissingDependencies>{items}</MissingDependencies>"


def _result(failure: tuple[str, str] | None) -> str:
    if failure:
        return f'<result result="failure" errorcode={quoteattr(failure[0])} errortext={quoteattr(failure[1])} />'
    return '<result result="success" errorcode="0" errortext="" />'


def _job_data(package: dict, job: dict, failure, missing: list[dict]) -> str:
    """The importjob `data` XML: one result per component, the failing one named."""
    role_failed = failure and failure[0] == errors.IMPORT_ROLE_ERROR
    roles = "".join(
        f'<securityrole id="{{{r["role_id"]}}}" name={quoteattr(r["name"])} processed="{str(not failure or role_failed).lower()}">'
        f'{_result(failure if role_failed else None) if (not failure or role_failed) else ""}</securityrole>'
        for r in package["roles"])
    manifest_failure = failure if failure and not role_failed else None
    return (
        f'<importexportxml start="{job["startedon"]}" stop="{job["completedon"]}" progress="100" processed="true">'
        f'<solutionManifests><solutionManifest languagecode="1033" id={quoteattr(package["unique_name"])} '
        f'LocalizedName={quoteattr(package["friendly_name"])} processed="true">'
        f'<UniqueName>{escape(package["unique_name"])}</UniqueName><Version>{escape(package["version"])}</Version>'
        f'<Managed>{int(package["managed"])}</Managed>'
        f'{_missing_xml(missing) if missing else ""}'
        f'{_result(failure)}</solutionManifest></solutionManifests>'
        f'<securityroles>{roles}</securityroles>'
        f'<entities /><nodes /><settings /><dashboards /><workflows /></importexportxml>')


def _failure_text(data: str) -> str:
    for result in ElementTree.fromstring(data).iter("result"):
        if result.get("result") == "failure":
            return result.get("errortext") or ""
    return ""
