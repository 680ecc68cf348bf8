"""Dataverse state and rules without HTTP: seeding, permissions, roles, async import timing, uninstall."""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from sandbox.dataverse import errors
from sandbox.dataverse.errors import DataverseError
from sandbox.dataverse.models import OrgModel
from sandbox.dataverse.seed import seed as seed_dataverse
from sandbox.dataverse.solution_imports import RUNNING_SECONDS, WAITING_SECONDS, SolutionImports
from sandbox.store import Store

ROOT = Path(__file__).resolve().parents[3]
ADMIN_APP = "0c1c9a1e-6d1b-4a43-9a35-4f1d1f2b7c10"
SAMPLE = ROOT / "solutions" / "BcSalesIntegrationSample_1_0_0_0.zip"


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def seeded(generated: int = 0) -> Store:
    seed = yaml.safe_load((ROOT / "sandbox/seeds/default.yaml").read_text())
    seed["graph"]["generatedUsers"] = generated
    store = Store(None)
    with store.transaction():
        seed_dataverse(store, seed, SimpleNamespace(tenant_id=seed["tenant"]["id"]))
    return store


@pytest.fixture
def model():
    writes = []
    org = OrgModel(seeded(), "contoso", clock=Clock(), count_write=lambda: writes.append(1))
    org.writes = writes
    return org


def test_seed_is_fast_for_many_users():
    started = time.perf_counter()
    store = seeded(generated=1500)
    assert time.perf_counter() - started < 5
    users = store.list("dv:contoso:systemusers")
    assert len(users) == 5 + 1 + 1500
    assert store.find("dv:contoso:systemusers", domainname="user1500@contoso.com")


def test_caller_rules(model):
    with pytest.raises(DataverseError) as caught:
        model.caller("11111111-1111-1111-1111-111111111111")
    assert (caught.value.status, caught.value.code) == (403, errors.NOT_A_MEMBER)
    admin = model.caller(ADMIN_APP)
    assert admin.is_system_administrator


def test_roles_need_system_administrator(model):
    user = model.find("systemusers", domainname="ann@contoso.com")[0]
    ann = model.caller  # ann is a person, not an app: give her an app id to act as a caller
    user["applicationid"] = "22222222-2222-2222-2222-222222222222"
    model.store.put(model.kind("systemusers"), user["systemuserid"], user)
    caller = ann("22222222-2222-2222-2222-222222222222")
    with pytest.raises(DataverseError) as caught:
        model.require_system_administrator(caller, "prvReadRole", "role")
    assert caught.value.code == errors.PRIVILEGE_MISSING and "prvReadRole" in caught.value.message


def test_async_import_moves_through_states_then_applies(model):
    admin = model.caller(ADMIN_APP)
    job_id, op_id = SolutionImports(model).import_solution(admin, SAMPLE.read_bytes(), None, asynchronous=True)
    assert model.writes
    view = lambda: SolutionImports(model).view_async(model.get("asyncoperations", op_id))  # noqa: E731
    assert (view()["statecode"], view()["statuscode"]) == (0, 0)
    model.clock.now += WAITING_SECONDS + 0.01
    assert (view()["statecode"], view()["statuscode"]) == (2, 20)
    assert 0 <= SolutionImports(model).view_job(model.get("importjobs", job_id))["progress"] < 100
    assert model.installed("BcSalesIntegrationSample") is None
    model.clock.now += RUNNING_SECONDS
    SolutionImports(model).advance()
    assert (view()["statecode"], view()["statuscode"]) == (3, 30)
    assert model.installed("BcSalesIntegrationSample")["version"] == "1.0.0.0"
    role = model.get("roles", "8c8d4f51-a72b-e511-80d9-3863bb349780")
    assert role["name"] == "Dynamics 365 Business Central Integration Administrator" and role["ismanaged"] is True


def test_same_version_reimport_writes_nothing_new(model):
    admin = model.caller(ADMIN_APP)
    SolutionImports(model).import_solution(admin, SAMPLE.read_bytes(), None, asynchronous=False)
    roles = len(model.records("roles"))
    before = len(model.writes)
    SolutionImports(model).import_solution(admin, SAMPLE.read_bytes(), None, asynchronous=False)
    assert len(model.records("roles")) == roles
    assert len(model.writes) - before == 1  # only the import job record


def test_uninstall_removes_roles_and_their_holders(model):
    admin = model.caller(ADMIN_APP)
    SolutionImports(model).import_solution(admin, SAMPLE.read_bytes(), None, asynchronous=False)
    carla = model.find("systemusers", domainname="carla@contoso.com")[0]["systemuserid"]
    model.associate(admin, "systemusers", carla, "systemuserroles_association", "6f960e32-a72b-e511-80d9-3863bb349780")
    model.uninstall(admin, model.installed("BcSalesIntegrationSample")["solutionid"])
    assert model.roles_of(carla) == []
    with pytest.raises(DataverseError) as caught:
        model.get("roles", "6f960e32-a72b-e511-80d9-3863bb349780")
    assert caught.value.status == 404


def test_bad_package_is_refused_before_anything_is_written(model):
    admin = model.caller(ADMIN_APP)
    with pytest.raises(DataverseError) as caught:
        SolutionImports(model).import_solution(admin, b"not a zip", None, asynchronous=True)
    assert (caught.value.status, caught.value.code) == (400, "0x80048060")
    assert model.records("importjobs") == [] and not model.writes
