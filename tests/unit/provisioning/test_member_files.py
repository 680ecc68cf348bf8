"""Member lists from a file (`{file: path}` for licence users and role holders) and the refusal of an inline config
the engine could not start the program with (one PULUMI_CONFIG environment string, 128 KiB on Linux)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provisioning.cli import main
from provisioning.settings import SettingsError, load_stack, parse
from provisioning.settings.member_files import ENGINE_CONFIG_LIMIT, engine_config_size
from tests.unit.provisioning.examples import copy_examples
from tests.unit.provisioning.test_settings import SOURCE, base

SKU = "DYN365_ENTERPRISE_SALES"
USERS = [f"user{i:04d}@contoso.com" for i in range(1, 2001)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def with_files(project: Path, **files: str) -> dict:
    """base() whose licence users and Integration User come from member files written under project/members/."""
    for name, text in files.items():
        (project / "members").mkdir(exist_ok=True)
        (project / "members" / name).write_text(text)
    config = base()
    config["bcsi:licenses"] = {SKU: {"users": {"file": "members/sales.txt"}}}
    config["bcsi:roles"]["Integration User"] = {"file": "members/integration.txt"}
    return config


def problems(config: dict, project: Path) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse(config, SOURCE, project_dir=project)
    return list(caught.value.lines)


def test_a_member_file_reads_like_the_inline_list(project):
    config = with_files(project, **{"sales.txt": "# Sales users\n\nann@contoso.com\n  bob@contoso.com  # Bob\nintegration\n",
                                     "integration.txt": "integration\nann@contoso.com\n"})
    settings = parse(config, SOURCE, project_dir=project)
    assert settings.licenses[SKU].users == ("ann@contoso.com", "bob@contoso.com", "bcintegration@contoso.com")
    assert settings.roles["Integration User"] == ("integration", "ann@contoso.com")


def test_member_file_problems_name_the_file_and_line(project):
    config = with_files(project, **{"sales.txt": "ann@contoso.com\nann@\n# x\nANN@contoso.com\n",
                                     "integration.txt": "integration\n"})
    assert problems(config, project) == [
        "members/sales.txt:2: bcsi:licenses.DYN365_ENTERPRISE_SALES.users: 'ann@' is not a valid user principal name "
        "(allowed: a UPN like name@contoso.com, or 'integration' for the integration user)",
        "members/sales.txt:4: bcsi:licenses.DYN365_ENTERPRISE_SALES.users: 'ANN@contoso.com' is listed twice "
        "(first at line 1) (allowed: each entry once)",
    ]


def test_a_missing_file_or_a_bad_reference_is_one_line_each(project):
    config = with_files(project, **{"integration.txt": "integration\n"})
    config["bcsi:roles"]["Integration Administrator"] = {"path": "members/admins.txt"}
    lines = problems(config, project)
    assert lines == [
        f"{SOURCE}: bcsi:licenses.DYN365_ENTERPRISE_SALES.users.file: 'members/sales.txt' does not exist relative to "
        "the project directory (allowed: a UTF-8 text file, one principal per line)",
        f"{SOURCE}: bcsi:roles.Integration Administrator.path: unknown key (allowed: file)",
        f"{SOURCE}: bcsi:roles.Integration Administrator.file: is missing "
        "(allowed: a text file relative to the project directory, like members/sales-users.txt)",
    ]


def test_an_inline_config_past_the_engine_limit_is_refused_naming_the_key(project):
    stack = project / "stacks" / "Pulumi.sandbox.yaml"
    document = yaml.safe_load(stack.read_text())
    document["config"]["bcsi:roles"]["Product Availability User"] = USERS
    document["config"]["bcsi:roles"]["Integration User"] = ["integration", *USERS]
    document["config"]["bcsi:licenses"][SKU]["users"] = USERS
    stack.write_text(yaml.safe_dump(document))
    assert engine_config_size(document["config"]) > ENGINE_CONFIG_LIMIT
    result = CliRunner().invoke(main, ["validate", "--stack", "sandbox", "--project-dir", str(project)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(
        "stacks/Pulumi.sandbox.yaml: bcsi:roles: the stack's config is ")
    assert "(allowed: long member lists in files: users: {file: members/sales-users.txt}" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output

    (project / "members").mkdir()
    (project / "members" / "sales.txt").write_text("\n".join(USERS) + "\n")
    document["config"]["bcsi:roles"]["Product Availability User"] = {"file": "members/sales.txt"}
    document["config"]["bcsi:roles"]["Integration User"] = {"file": "members/integration.txt"}
    (project / "members" / "integration.txt").write_text("integration\n" + "\n".join(USERS) + "\n")
    document["config"]["bcsi:licenses"][SKU]["users"] = {"file": "members/sales.txt"}
    stack.write_text(yaml.safe_dump(document))
    settings = load_stack(project, "sandbox")
    assert settings.roles["Product Availability User"] == tuple(USERS) == settings.licenses[SKU].users
    assert settings.roles["Integration User"] == ("integration", *USERS)


def test_the_size_is_measured_as_the_engine_builds_pulumi_config():
    config = {"bcsi:cloud": "sandbox", "bcsi:roles": {"Integration User": ["a@b.com"]}}
    assert engine_config_size(config) == len(json.dumps({"bcsi:cloud": "sandbox",
                                                         "bcsi:roles": json.dumps(config["bcsi:roles"])}))


def program_settings(config: dict, project: Path):
    """from_pulumi_config as the program runs it: every value a text, structured ones JSON (pulumi.runtime.config)."""
    from pulumi.runtime.config import set_all_config

    from provisioning.settings import from_pulumi_config

    set_all_config({key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()})
    try:
        return from_pulumi_config(SOURCE, project_dir=project)
    finally:
        set_all_config({})


def test_the_program_reads_member_files_and_refuses_what_the_engine_could_not_pass(project):
    config = with_files(project, **{"sales.txt": "\n".join(USERS) + "\n", "integration.txt": "integration\n"})
    assert program_settings(config, project).licenses[SKU].users == tuple(USERS)
    config["bcsi:licenses"][SKU]["users"] = USERS
    config["bcsi:roles"]["Integration User"] = USERS
    config["bcsi:roles"]["Integration Administrator"] = USERS
    with pytest.raises(SettingsError) as caught:
        program_settings(config, project)
    assert len(caught.value.lines) == 1
    assert caught.value.lines[0].startswith(f"{SOURCE}: bcsi:roles: the stack's config is ")
