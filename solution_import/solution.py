"""IntegrationSolution: the BC integration solution imported into Dataverse, version-aware.

Not installed: ImportSolutionAsync. Same version installed: adopt it, no write. Higher than an installed managed
solution: StageAndUpgradeAsync, because a plain import would only update it and keep the components the new
version dropped (https://learn.microsoft.com/power-apps/maker/data-platform/update-solutions). Lower: refuse,
nothing changed. While another solution operation runs, wait and try again within importTimeoutSeconds.
The package is read when the resource is declared, so `preview` shows a version change.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from mscloud.odata import odata_string
from solution_import.common import DataverseSetupError, dataverse_for, guid
from solution_import.importjob import SolutionOperationBusy, run_import
from solution_import.package import read_package
from solution_import.preflight import check_can_import
from solution_import.versions import compare_versions

DEFAULT_IMPORT_TIMEOUT = 600
_SOLUTION_FIELDS = ["solutionid", "uniquename", "version", "ismanaged"]
# Inputs whose change needs the provider to act (an import); the others are bookkeeping only.
_IMPORT_INPUTS = ("uniqueName", "version", "packageSha256")
# Waiting for another solution operation: first pause, growing by half each time up to the last.
BUSY_FIRST_WAIT, BUSY_LONGEST_WAIT = 2.0, 30.0


def find_solution(dataverse, unique_name: str) -> dict | None:
    rows = dataverse.list("solutions", select=_SOLUTION_FIELDS, filter=f"uniquename eq {odata_string(unique_name)}")
    return rows[0] if rows else None


def _package_bytes(props: dict) -> bytes:
    """The zip to import, checked against the sha256 recorded when the program declared the resource."""
    data = Path(props["packagePath"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != props["packageSha256"]:
        raise DataverseSetupError(
            f"solution package {props['packagePath']} changed while the deployment ran; run preview again"
        )
    return data


def import_action(name: str, version: str, installed: dict | None) -> str | None:
    """The Web API action that brings `version` in: None when it is installed already; refuses a downgrade."""
    if installed is None:
        return "ImportSolutionAsync"
    order = compare_versions(version, installed["version"])
    if order == 0:
        return None
    if order < 0:
        raise DataverseSetupError(
            f"solution {name}: the package is version {version} but {installed['version']} is installed; "
            f"Dataverse cannot downgrade a solution (nothing was changed)"
        )
    return "StageAndUpgradeAsync" if installed.get("ismanaged") else "ImportSolutionAsync"


def ensure_installed(props: dict) -> dict:
    """Makes the package's version the installed one; returns {solutionId, installedVersion}."""
    dataverse = dataverse_for(props)
    name, version = props["uniqueName"], props["version"]
    timeout = float(props.get("importTimeoutSeconds") or DEFAULT_IMPORT_TIMEOUT)
    deadline = time.monotonic() + timeout
    package, wait = None, BUSY_FIRST_WAIT
    while True:
        installed = find_solution(dataverse, name)    # again after a wait: the other import may have changed it
        action = import_action(name, version, installed)
        if action is None:
            return {"solutionId": guid(installed["solutionid"]), "installedVersion": installed["version"]}
        if package is None:
            check_can_import(dataverse)
            package = _package_bytes(props)
        try:
            run_import(dataverse, package, name, version, timeout, action=action, deadline=deadline)
            break
        except SolutionOperationBusy as busy:
            left = deadline - time.monotonic()
            if left <= wait:       # no time for another try after the pause
                raise DataverseSetupError(
                    f"solution {name} {version}: another solution operation kept the environment busy within "
                    f"importTimeoutSeconds ({timeout:g} s); Dataverse said: {busy}; run again when it has finished "
                    f"or raise importTimeoutSeconds (nothing was changed)") from None
            pulumi.log.info(f"solution {name} {version}: another solution operation is running in the environment; "
                            f"waiting {wait:.0f} s and trying again ({left:.0f} s left of importTimeoutSeconds)")
            time.sleep(wait)
            wait = min(wait * 1.5, BUSY_LONGEST_WAIT)
    now = find_solution(dataverse, name)
    if now is None:
        raise DataverseSetupError(f"solution {name}: import reported success but the solution is not installed")
    return {"solutionId": guid(now["solutionid"]), "installedVersion": now["version"]}


class IntegrationSolutionProvider(ResourceProvider):
    """Holds nothing: every call rebuilds its client from props['connection']."""

    def create(self, props):
        outs = ensure_installed(props)
        return CreateResult(id_=outs["solutionId"], outs={**props, **outs})

    def read(self, id_, props):
        dataverse = dataverse_for(props)
        found = find_solution(dataverse, props["uniqueName"])
        if found is None:
            return ReadResult(id_="", outs={})
        return ReadResult(id_=guid(found["solutionid"]), outs={
            **props, "solutionId": guid(found["solutionid"]), "installedVersion": found["version"]})

    def diff(self, id_, olds, news):
        changed = any(olds.get(k) != news.get(k) for k in _IMPORT_INPUTS)
        drifted = olds.get("installedVersion") not in (None, news.get("version"))
        # Not packagePath: each pipeline run's checkout is somewhere else, and the package is pinned by its sha256;
        # an import (create/update) always reads the zip from the new inputs' path.
        bookkeeping = any(olds.get(k) != news.get(k) for k in ("uninstallOnDelete", "importTimeoutSeconds",
                                                              "environmentUrl", "connection"))
        return DiffResult(changes=changed or drifted or bookkeeping, replaces=[], delete_before_replace=False)

    def update(self, id_, olds, news):
        return UpdateResult(outs={**news, **ensure_installed(news)})

    def delete(self, id_, props):
        if not props.get("uninstallOnDelete"):
            pulumi.log.info(f"solution {props['uniqueName']} left installed (uninstallOnDelete is false)")
            return
        dataverse = dataverse_for(props)
        dataverse.delete("solutions", id_, missing_ok=True)


class IntegrationSolution(Resource, module="bcsi", name="IntegrationSolution"):
    """The integration solution package, imported into one Dataverse environment."""

    solutionId: pulumi.Output[str]
    installedVersion: pulumi.Output[str]
    uniqueName: pulumi.Output[str]
    version: pulumi.Output[str]

    def __init__(self, resource_name: str, *, connection: dict, environment_url: pulumi.Input[str],
                 package_path: str, uninstall_on_delete: bool = False,
                 import_timeout_seconds: int = DEFAULT_IMPORT_TIMEOUT,
                 opts: pulumi.ResourceOptions | None = None):
        package = read_package(package_path)
        super().__init__(IntegrationSolutionProvider(), resource_name, {
            "connection": connection,
            "environmentUrl": environment_url,
            "packagePath": package.path,
            "packageSha256": package.sha256,
            "uniqueName": package.unique_name,
            "version": package.version,
            "uninstallOnDelete": bool(uninstall_on_delete),
            "importTimeoutSeconds": int(import_timeout_seconds),
            "solutionId": None,
            "installedVersion": None,
        }, opts)
