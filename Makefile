# The two commands (README, "The two commands"): `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
N ?=

.PHONY: help venv engine node test demo sandbox bench clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

venv: $(STAMP)  ## Python venv in .venv/ with the project and its test tools
	@# Bytecode of the packages every Pulumi command loads (program, dynamic providers, policy pack), so that
	@# PYTHONDONTWRITEBYTECODE=1 (common in CI images) does not mean compiling them in each process of each run.
	@$(VENV)/bin/python -m compileall -q provisioning mscloud solution_import policies

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

node: $(NODE_STAMP)  ## Azurite (package.json, pinned in package-lock.json) in node_modules/, for state in blob storage

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make node: needs Node.js >= 20 with npm (for Azurite, see README)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

engine: venv  ## build or verify the Pulumi engine in .tools/bin (fast when built); writes .tools/env
	scripts/engine.sh

test: venv engine node  ## install what is needed and run the whole test suite
	. .tools/env && $(VENV)/bin/python -m pytest

demo: venv engine node  ## the whole integration on the local sandbox cloud; STATE=azurite keeps its state in Azurite
ifeq ($(STATE),azurite)
	. .tools/env && $(VENV)/bin/python -m harness.azurite run --data .azurite -- scripts/demo.sh
else
	. .tools/env && scripts/demo.sh
endif

sandbox: venv  ## serve the sandbox cloud in the foreground on port 8443 (data in .sandbox/)
	$(VENV)/bin/bcsi sandbox serve --port 8443 --data .sandbox

bench: venv engine  ## benchmark against the sandbox (N=100 for one size)
	. .tools/env && $(VENV)/bin/python -m bench $(if $(N),--n $(N),)

clean:  ## remove local state (keeps the venv and the engine)
	rm -rf .pulumi-state .sandbox .azurite bench/out
