"""Proves the chain the whole project stands on: the engine built here runs Python programs, dynamic
providers and policy packs, with a local file backend and passphrase secrets."""
import subprocess
import textwrap
from importlib.metadata import version

import pytest

from tests.enginekit import ROOT, Stack, policy_pack, pulumi_binary, python_project

pytestmark = pytest.mark.engine

PROGRAM = textwrap.dedent(
    '''
    import pathlib
    import pulumi
    from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

    class FileProvider(ResourceProvider):
        """Keeps one file; lets the test see that the engine really called each method."""

        def create(self, props):
            pathlib.Path(props["path"]).write_text(props["value"])
            return CreateResult(id_=props["path"], outs=props)

        def read(self, id_, props):
            path = pathlib.Path(id_)
            return ReadResult(id_, {**props, "value": path.read_text()} if path.exists() else None)

        def diff(self, id_, olds, news):
            return DiffResult(changes=olds.get("value") != news.get("value"), replaces=[])

        def update(self, id_, olds, news):
            pathlib.Path(id_).write_text(news["value"])
            return UpdateResult(outs=news)

        def delete(self, id_, props):
            pathlib.Path(id_).unlink(missing_ok=True)

    class ManagedFile(Resource):
        value: pulumi.Output[str]

        def __init__(self, name, path, value):
            super().__init__(FileProvider(), name, {"path": path, "value": value})

    config = pulumi.Config()
    f = ManagedFile("file", config.require("path"), config.get("value") or "one")
    pulumi.export("value", f.value)
    pulumi.export("token", pulumi.Output.secret("s3cr3t-token-value"))
    '''
)


def test_engine_version_matches_sdk():
    out = subprocess.run([pulumi_binary(), "version"], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "v" + version("pulumi") == "v3.259.0"


def test_dynamic_resource_lifecycle(tmp_path):
    project = python_project(tmp_path / "proj", "smoke", PROGRAM)
    managed = tmp_path / "managed.txt"
    stack = Stack(project, "dev", tmp_path / "state")
    stack.init()
    stack.run("config", "set", "path", str(managed))

    stack.run("preview")
    assert not managed.exists(), "preview must not create anything"

    stack.run("up", "--yes")
    assert managed.read_text() == "one"
    assert stack.outputs()["value"] == "one"
    assert "s3cr3t-token-value" not in (stack.state_dir / ".pulumi" / "stacks" / "smoke" / "dev.json").read_text()

    stack.run("preview", "--expect-no-changes")

    managed.write_text("drifted")
    stack.run("refresh", "--yes")
    stack.run("config", "set", "value", "one")
    changed = stack.run("preview", "--expect-no-changes", check=False)
    assert changed.returncode != 0, "after refresh the drift must show as a change"
    stack.run("up", "--yes")
    assert managed.read_text() == "one"

    stack.run("destroy", "--yes")
    assert not managed.exists()


POLICY = textwrap.dedent(
    '''
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

    def no_forbidden_value(args, report_violation):
        if args.props.get("value") == "forbidden":
            report_violation("the value 'forbidden' may not be deployed")

    PolicyPack(
        name="smoke-policies",
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=[ResourceValidationPolicy(name="no-forbidden-value", description="blocks one value",
                                           validate=no_forbidden_value)],
    )
    '''
)


def test_policy_pack_blocks_preview(tmp_path):
    project = python_project(tmp_path / "proj", "smoke", PROGRAM)
    pack = policy_pack(tmp_path / "pack", POLICY)
    stack = Stack(project, "dev", tmp_path / "state")
    stack.init()
    stack.run("config", "set", "path", str(tmp_path / "managed.txt"))

    stack.run("preview", "--policy-pack", str(pack))

    stack.run("config", "set", "value", "forbidden")
    blocked = stack.run("preview", "--policy-pack", str(pack), check=False)
    assert blocked.returncode != 0
    assert "no-forbidden-value" in blocked.stdout + blocked.stderr
    assert not (tmp_path / "managed.txt").exists()


def tools_env(name: str) -> str | None:
    """What `. .tools/env` (written by `make engine`) sets `name` to, in a shell that had it unset."""
    shell = subprocess.run(["bash", "-c", f'unset {name}; . "{ROOT}/.tools/env" && printf %s "${{{name}-}}"'],
                           capture_output=True, text=True, check=True)
    return shell.stdout or None


def test_tools_env_installs_plugins_only_when_a_resource_needs_one(tmp_path):
    """The venv holds pulumi-azuread, which mode `existing` never uses. By default the engine installs the plugin
    of every pulumi-* package in the venv before each command (offline: 2.5 s of failed downloads);
    `--skip-plugin-pre-install` (Pulumi's PULUMI_OPTION_<FLAG> form, set by .tools/env) leaves that to the moment
    a resource asks for the plugin (pulumi/pulumi pkg/engine/update.go, installPlugins)."""
    skip = tools_env("PULUMI_OPTION_SKIP_PLUGIN_PRE_INSTALL")
    assert skip == "true"
    project = python_project(tmp_path / "proj", "empty", 'import pulumi\npulumi.export("x", 1)\n')
    stack = Stack(project, "dev", tmp_path / "state", env_extra={"PULUMI_OPTION_SKIP_PLUGIN_PRE_INSTALL": skip})
    stack.env.pop("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")   # the harness's own guard: not what users have
    stack.init()
    log = stack.run("preview", "--logtostderr", "-v=7").stderr
    assert "package azuread-" in log                  # the language host reports the venv's pulumi-azuread ...
    assert "ensurePluginsAreInstalled" not in log     # ... and nothing tries to install it
