#!/usr/bin/env bash
# `make demo`: the whole integration on the local sandbox cloud with the real engine (CONTRACT §1).
# Starts the sandbox, previews and applies stack `sandbox`, prints its outputs and the permission
# summary, checks that a second preview has no changes, and stops the sandbox.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export BCSI_SANDBOX_DIR=${BCSI_SANDBOX_DIR:-$root/.sandbox}
stack=sandbox
step() { printf '\n==> %s\n' "$*"; }

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

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"

step "bcsi validate --stack $stack"
bcsi validate --stack "$stack"

step "pulumi preview (with the policy pack)"
pulumi preview --stack "$stack" --policy-pack policies --diff

step "pulumi up"
pulumi up --stack "$stack" --yes --skip-preview --policy-pack policies

step "stack outputs"
pulumi stack output --stack "$stack" --json

step "permission summary (bcsi plan: what the tenant holds now against the stack)"
bcsi plan --stack "$stack" --format table || [ $? -eq 2 ]

step "second preview: must show no changes"
pulumi preview --stack "$stack" --expect-no-changes

step "bcsi check --stack $stack (what Business Central will test)"
bcsi check --stack "$stack" --format table

step "demo finished: stack '$stack' is up; the sandbox is stopped (its data stays in $BCSI_SANDBOX_DIR)"
