# quantlab developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
LINT_PATHS := $(wildcard src tests benchmarks)

.PHONY: run test lint format install install-dev install-bench bench demo clean web web-api web-system-deps

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

run: install
	$(BIN)/quantlab db upgrade
	$(BIN)/quantlab serve --no-migrate

test: install-dev web-system-deps
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

bench: install-bench
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

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

# WEB SYSTEM DEPS (browser tests): Debian's chromium and a CJK font. To be folded into the
# shared system-deps script; until then `make test` installs them when missing.
WEB_SYSTEM_PACKAGES := chromium fonts-wqy-microhei
web-system-deps:
	@dpkg -s $(WEB_SYSTEM_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(WEB_SYSTEM_PACKAGES) >/dev/null; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
