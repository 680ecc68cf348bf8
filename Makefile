# The two commands (README, "The two commands"): `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
N ?=

.PHONY: help venv engine test demo sandbox bench clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

venv: $(STAMP)  ## Python venv in .venv/ with the project and its test tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

engine: venv  ## build or verify the Pulumi engine in .tools/bin (fast when built); writes .tools/env
	scripts/engine.sh

test: venv engine  ## install what is needed and run the whole test suite
	. .tools/env && $(VENV)/bin/python -m pytest

demo: venv engine  ## run the whole integration on the local sandbox cloud with the real engine
	. .tools/env && scripts/demo.sh

sandbox: venv  ## serve the sandbox cloud in the foreground on port 8443 (data in .sandbox/)
	$(VENV)/bin/bcsi sandbox serve --port 8443 --data .sandbox

bench: venv engine  ## benchmark against the sandbox (N=100 for one size)
	. .tools/env && $(VENV)/bin/python -m bench $(if $(N),--n $(N),)

clean:  ## remove local state (keeps the venv and the engine)
	rm -rf .pulumi-state .sandbox bench/out
