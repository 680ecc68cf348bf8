"""pipelines/steps.sh end to end on the sandbox stack, as both pipelines run it: validate, plan, preview (with the
policy pack and the generated pack config), up, check; then a settings change the pack must block (a SKU the
platform's pack config does not allow, though the stack's own bcsi:policy does) and warn about (role holders
dropping, nobody left with Product Availability User) — the shrink baseline coming from the stack's outputs.
"""
import json
import subprocess

import pytest

from tests.enginekit import ROOT, VENV, engine_env
from tests.engine.test_sandbox_stack import copy_project, edit_stack

pytestmark = pytest.mark.engine


def test_steps_sh_runs_the_pipeline_sequence_and_the_pack_guards_it(tmp_path, start_sandbox):
    cloud = start_sandbox(tmp_path / "sandbox")
    project = copy_project(tmp_path / "project")
    for part in ("pipelines", "policies"):
        subprocess.run(["cp", "-r", str(ROOT / part), str(project / part)], check=True)
    (project / ".venv").symlink_to(VENV)   # PulumiPolicy.yaml: virtualenv ../.venv
    out = tmp_path / "out"
    env = engine_env(tmp_path / "state", passphrase="sandbox", BCSI_SANDBOX_DIR=str(cloud.data_dir),
                     BCSI_OUT_DIR=str(out), BCSI_POLICY_CONFIG=str(ROOT / "pipelines" / "policy-config.json"))
    env.pop("AZURE_FEDERATED_TOKEN_FILE", None)

    def step(name, succeed=True):
        result = subprocess.run([str(project / "pipelines" / "steps.sh"), name, "sandbox"], cwd=project, env=env,
                                capture_output=True, text=True, timeout=600)
        output = result.stdout + result.stderr
        assert (result.returncode == 0) == succeed, f"steps.sh {name} exited {result.returncode}\n{output}"
        return output

    step("validate")
    step("plan")
    assert (out / "plan-sandbox.md").read_text().strip()
    previewed = step("preview")
    assert "bcsi-policies" in previewed and "mandatory" not in previewed and "advisory" not in previewed, previewed
    step("up")
    step("check")
    assert (out / "check-sandbox.md").read_text().strip()
    generated = json.loads((out / "policy-config-sandbox.json").read_text())
    assert generated["principals-in-verified-domains"] == {"verifiedDomains": ["contoso.com", "contoso.onmicrosoft.com"]}

    def change(config):
        config["bcsi:policy"]["allowedSkus"].append("DYN365_BUSCENTRAL_ESSENTIAL")
        config["bcsi:licenses"]["DYN365_BUSCENTRAL_ESSENTIAL"] = {"users": ["ann@contoso.com"]}
        del config["bcsi:roles"]["Product Availability User"]

    edit_stack(project, change)
    step("validate")
    blocked = " ".join(step("preview", succeed=False).split())
    # the stack's allow-list narrows the pack config's to their common part; it cannot widen it
    assert "license-sku-allow-list" in blocked and "license-dyn365_buscentral_essential: licence SKU " \
        "'DYN365_BUSCENTRAL_ESSENTIAL' is not on the allow-list (DYN365_ENTERPRISE_SALES): assigned to user " \
        "'ann@contoso.com'" in blocked, blocked
    assert "role 'Product Availability User' loses 2 of 2 holders (100% > 50%): ann@contoso.com, bob@contoso.com" \
        in blocked, blocked
    assert "product-availability-users-present" in blocked, blocked
