#!/usr/bin/env bash
# `make demo`: the whole integration on the local sandbox cloud with the real engine (README, "The two commands").
# Starts the sandbox, previews and applies stack `sandbox`, prints its outputs and the permission
# summary, checks that a second preview has no changes, and stops the sandbox.
# Expects the engine and the venv on PATH (`. .tools/env`, which `make demo` does).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export BCSI_SANDBOX_DIR=${BCSI_SANDBOX_DIR:-$root/.sandbox}
export PULUMI_SKIP_UPDATE_CHECK=true
stack=sandbox
step() { printf '\n==> %s\n' "$*"; }
has_command() { bcsi "$1" --help >/dev/null 2>&1; }   # `bcsi plan`/`bcsi check` may not exist yet

policy_args=()
if [ -f policies/PulumiPolicy.yaml ]; then policy_args=(--policy-pack policies); fi

port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$BCSI_SANDBOX_DIR"
rm -f "$BCSI_SANDBOX_DIR/endpoints.json"
step "starting the sandbox cloud on 127.0.0.1:$port (data in $BCSI_SANDBOX_DIR)"
bcsi sandbox serve --port "$port" --data "$BCSI_SANDBOX_DIR" > "$BCSI_SANDBOX_DIR/serve.log" 2>&1 &
sandbox_pid=$!
trap 'kill -TERM $sandbox_pid 2>/dev/null; wait $sandbox_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$BCSI_SANDBOX_DIR/endpoints.json" ] && break
  kill -0 $sandbox_pid 2>/dev/null || { cat "$BCSI_SANDBOX_DIR/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$BCSI_SANDBOX_DIR/endpoints.json" ] || { echo "sandbox did not start" >&2; exit 1; }

pulumi stack select "$stack" --non-interactive 2>/dev/null || pulumi stack init "$stack" --non-interactive

step "bcsi validate --stack $stack"
bcsi validate --stack "$stack"

step "pulumi preview${policy_args:+ (with the policy pack)}"
pulumi preview --stack "$stack" --non-interactive --diff "${policy_args[@]}"

step "pulumi up"
pulumi up --stack "$stack" --non-interactive --yes --skip-preview "${policy_args[@]}"

step "stack outputs"
pulumi stack output --stack "$stack" --json | tee "$BCSI_SANDBOX_DIR/outputs.json"

step "permission summary (from the stack outputs)"
python - "$BCSI_SANDBOX_DIR/outputs.json" <<'EOF'
import json, sys
outputs = json.load(open(sys.argv[1]))
print(f"integration principal: {outputs.get('integrationPrincipal')}")
solution = outputs.get("solution") or {}
print(f"solution: {solution.get('uniqueName')} {solution.get('version')}")
for title, key in (("role", "roleAssignments"), ("licence", "licenseAssignments")):
    for target, principals in sorted((outputs.get(key) or {}).items()):
        print(f"{title:8} {target:32} {', '.join(principals) or '-'}")
for coupling in outputs.get("couplings") or []:
    print(f"coupling {coupling['code']:32} {coupling['salesUser']} ({coupling['displayName']})")
EOF

if has_command plan; then
  # live reads against the stack: exit 2 would mean `up` left a permission change behind
  step "bcsi plan --stack $stack (what the tenant holds now against the stack)"
  bcsi plan --stack "$stack" --format table
fi

step "second preview: must show no changes"
pulumi preview --stack "$stack" --non-interactive --expect-no-changes "${policy_args[@]}"

if has_command check; then
  step "bcsi check --stack $stack (what Business Central will test)"
  bcsi check --stack "$stack" --format table
fi

step "schema refusals: names Microsoft does not know (the sandbox enforces Microsoft's schema; must be 0)"
python - "$BCSI_SANDBOX_DIR/endpoints.json" <<'EOF'
import json, ssl, sys, urllib.request
endpoints = json.load(open(sys.argv[1]))
context = ssl.create_default_context(cafile=endpoints["ca_file"])
metrics = json.load(urllib.request.urlopen(endpoints["admin"] + "/metrics", context=context))
print(f"schema refusals: {metrics['schema_refusals']}")
for what, count in metrics["schema_refused"].items():
    print(f"  {count} x {what}")
sys.exit(1 if metrics["schema_refusals"] else 0)
EOF

step "demo finished: stack '$stack' is up; the sandbox is stopped (its data stays in $BCSI_SANDBOX_DIR)"
