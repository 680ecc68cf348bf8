#!/usr/bin/env bash
# One pipeline step for one stack. GitHub Actions and Azure Pipelines both call this, so the same sequence
# runs anywhere, including against the local sandbox (PULUMI_BACKEND_URL / passphrase from .tools/env).
#
#   pipelines/steps.sh <validate|plan|preview|up|check> STACK
#
# Environment (all optional): PULUMI_BACKEND_URL (e.g. azblob://pulumi-state?storage_account=…),
# PULUMI_SECRETS_PROVIDER (used when a stack is first created), BCSI_POLICY_CONFIG (the platform's pack
# config, JSON), BCSI_OUT_DIR (where plans, checks and the generated pack config go; default .bcsi-out),
# AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_FEDERATED_TOKEN_FILE (workload identity federation).
set -euo pipefail

usage() { echo "usage: pipelines/steps.sh <validate|plan|preview|up|check> STACK" >&2; exit 64; }
[[ $# -eq 2 && -n "$2" ]] || usage
step=$1 stack=$2
case "$step" in validate|plan|preview|up|check) ;; *) usage ;; esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck disable=SC1091
[[ -f .tools/env ]] && . .tools/env   # engine and venv on PATH; backend defaults only when unset
python=${BCSI_PYTHON:-$root/.venv/bin/python}
out=${BCSI_OUT_DIR:-$root/.bcsi-out}
mkdir -p "$out"
export PULUMI_SKIP_UPDATE_CHECK=true
[[ "${PULUMI_BACKEND_URL:-}" == file://* ]] && mkdir -p "${PULUMI_BACKEND_URL#file://}"

if [[ -n "${AZURE_FEDERATED_TOKEN_FILE:-}" ]]; then
  "$python" pipelines/federated_token.py
  # the azuread provider reads the same token (ARM_* names), as does the azblob backend (AZURE_* names)
  export ARM_USE_OIDC=true ARM_OIDC_TOKEN_FILE_PATH="$AZURE_FEDERATED_TOKEN_FILE"
  export ARM_CLIENT_ID="${ARM_CLIENT_ID:-${AZURE_CLIENT_ID:-}}" ARM_TENANT_ID="${ARM_TENANT_ID:-${AZURE_TENANT_ID:-}}"
fi

select_stack() {
  pulumi stack select "$stack" --non-interactive 2>/dev/null \
    || pulumi stack init "$stack" --non-interactive ${PULUMI_SECRETS_PROVIDER:+--secrets-provider "$PULUMI_SECRETS_PROVIDER"}
}

# The pack config for this run: the platform's file plus the role holders the stack has now (the shrink rule's
# baseline; CrossGuard cannot read old state). Secrets stay masked: no --show-secrets.
policy_config() {
  local outputs="$out/outputs-$stack.json" config="$out/policy-config-$stack.json"
  pulumi stack output --json --stack "$stack" > "$outputs" 2>/dev/null || echo '{}' > "$outputs"
  "$python" -m policies.pack_config ${BCSI_POLICY_CONFIG:+--base "$BCSI_POLICY_CONFIG"} --outputs "$outputs" > "$config"
  echo "$config"
}

case "$step" in
  validate)
    bcsi validate --stack "$stack"
    ;;
  plan)  # exit 2 only means "changes": the plan is the PR comment, not a gate
    rc=0
    bcsi plan --stack "$stack" --format markdown > "$out/plan-$stack.md" || rc=$?
    cat "$out/plan-$stack.md"
    [[ $rc -eq 0 || $rc -eq 2 ]] || exit "$rc"
    ;;
  preview)
    select_stack
    config=$(policy_config)
    pulumi preview --stack "$stack" --non-interactive --diff --policy-pack policies --policy-pack-config "$config"
    ;;
  up)
    select_stack
    config=$(policy_config)
    pulumi up --stack "$stack" --non-interactive --refresh --yes --policy-pack policies --policy-pack-config "$config"
    ;;
  check)
    bcsi check --stack "$stack" --format markdown | tee "$out/check-$stack.md"
    ;;
esac
