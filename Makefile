# quantlab developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
LINT_PATHS := $(wildcard src tests benchmarks)

.PHONY: run test lint format install install-dev install-bench bench demo clean system-deps web web-api

# System packages (bubblewrap, libseccomp2, ...): installed when root, else the exact command
# to run is printed and make stops. Groups are listed in the script; SYSTEM_DEPS picks them.
SYSTEM_DEPS ?= core
system-deps:
	@scripts/system-deps.sh $(SYSTEM_DEPS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)

# The environment is rebuilt from the lock file whenever the lock file changes.
$(VENV)/.runtime: requirements/runtime.lock pyproject.toml | $(BIN)/python
	$(UV) pip sync -q --python $(BIN)/python requirements/runtime.lock
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

$(VENV)/.dev: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(UV) pip sync -q --python $(BIN)/python requirements/dev.lock
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

install-bench: requirements/bench.lock | $(BIN)/python
	$(UV) pip sync -q --python $(BIN)/python requirements/bench.lock
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.dev $(VENV)/.runtime

run: system-deps install
	$(BIN)/quantlab db upgrade
	$(BIN)/quantlab serve --no-migrate

test: SYSTEM_DEPS = core test web
test: system-deps install-dev
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

# modules the benchmarks import, not benchmarks themselves
BENCH_HELPERS = benchmarks/live_server.py benchmarks/minimal_jwt_app.py

bench: install-bench
	@scripts/system-deps.sh core bench
	@for b in $(filter-out $(BENCH_HELPERS),$(wildcard benchmarks/*.py)); do \
		echo "== $$b"; $(BIN)/python $$b || exit 1; done

# --- web workbench (web/ -> src/quantlab/webui/dist, committed so `make run` needs no Node) ---
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

# the OpenAPI document of the app, then the client's TypeScript types generated from it
web-api: install-dev web/node_modules/.package-lock.json
	$(BIN)/python -m quantlab.webui.openapi web/openapi.json
	cd web && npm run --silent gen:api

# type-check and build the assets into the Python package
web: web/node_modules/.package-lock.json
	cd web && npm run --silent build

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
