"""Where settings come from: a stack file (for the CLI and tests) or the running stack's config (the program).

Both end in `parse`; this module only finds, reads and unwraps them. Stack files are read with a YAML
loader that refuses duplicate keys, which plain YAML would silently resolve to the last one.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from provisioning.settings.member_files import engine_limit_problem
from provisioning.settings.model import NAMESPACE, Settings
from provisioning.settings.problems import Problems, SettingsError, show
from provisioning.settings.sections import parse


def stack_file(project_dir: str | Path, stack: str) -> Path:
    """stacks/Pulumi.<stack>.yaml under the project (the project's `stackConfigDir`, `stacks` by default)."""
    project_dir = Path(project_dir)
    config_dir = "stacks"
    project_file = project_dir / "Pulumi.yaml"
    if project_file.exists():
        try:
            project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
            if isinstance(project, dict) and isinstance(project.get("stackConfigDir"), str):
                config_dir = project["stackConfigDir"]
        except yaml.YAMLError:
            pass  # the engine reports a broken Pulumi.yaml; settings stay with the default
    return project_dir / config_dir / f"Pulumi.{stack}.yaml"


def load_stack(project_dir: str | Path, stack: str) -> Settings:
    """Read and validate the `bcsi:` settings of one stack file; files named in them are checked to exist."""
    project_dir = Path(project_dir)
    path = stack_file(project_dir, stack)
    source = relative_path(path, project_dir)
    if not path.exists():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml"))
        raise SettingsError([f"{source}: no such stack file (allowed: stacks {', '.join(known) or 'none found'})"])
    document = _read_yaml(path, source)
    config = _config_section(document, source)
    # In a stack file a key without a namespace belongs to the project (bc-sales-integration:), not to bcsi:.
    ours = {key: value for key, value in config.items() if isinstance(key, str) and key.startswith(NAMESPACE + ":")}
    return parse_within_engine_limit(config, ours, source, project_dir)


def from_pulumi_config(source: str, project_dir: str | Path | None = None) -> Settings:
    """Settings of the running Pulumi program (secrets decrypted, structured values JSON-decoded)."""
    import pulumi.runtime.config as runtime_config

    values = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    config: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(key, str) and key.startswith(NAMESPACE + ":"):
            config[key] = _decode_structured(value)
    return parse_within_engine_limit(values, config, source, project_dir)


def parse_within_engine_limit(whole: dict, ours: dict, source: str, project_dir: str | Path | None) -> Settings:
    """`parse` of our keys, plus a problem when the whole config (every namespace) would not fit the engine:
    `bcsi validate` refuses what `pulumi up` could not start, before anything is written."""
    too_large = Problems(source)
    if (problem := engine_limit_problem(whole)) is not None:
        too_large.add(*problem)
    try:
        settings = parse(ours, source, project_dir=project_dir)
    except SettingsError as error:
        raise SettingsError([*too_large.lines, *error.lines]) from None
    if too_large.lines:
        raise SettingsError(too_large.lines)
    return settings


def _decode_structured(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def relative_path(path: Path, project_dir: Path) -> str:
    """`path` as the settings name files: relative to the project directory when it is under it."""
    try:
        return path.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


class _StackLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (YAML would silently keep the last one)."""


def _construct_mapping(loader: _StackLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a map key must be plain text", key_node.start_mark) from None
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StackLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, source: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError([f"{source}: cannot be read: {error.__class__.__name__} (allowed: a UTF-8 YAML file)"]) from None
    try:
        return yaml.load(text, Loader=_StackLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or getattr(error, "context", None) or "not valid YAML"
        raise SettingsError([f"{source}{where}: invalid YAML: {problem} (allowed: a YAML map with a config: section)"]) from None


def _config_section(document: Any, source: str) -> dict:
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SettingsError([f"{source}: the file is {show(document)}, not a map (allowed: a YAML map with a config: section)"])
    config = document.get("config", {})
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise SettingsError([f"{source}: config: {show(config)} is not a map (allowed: a map of 'namespace:key' to values)"])
    return config
