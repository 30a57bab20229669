# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
# The first interpreter that really runs and is 3.11+ (pyenv shims exist for versions that are not active).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format worker clean

$(VENV)/.python-ok:
	@test -n "$(PYTHON)" || { echo "Recurra needs Python 3.11 or newer on PATH (python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed-run: pyproject.toml $(VENV)/.python-ok
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.python-ok
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed-run

## run: install, migrate, seed the demo and serve on http://127.0.0.1:8000 (PORT=... to change)
run: $(VENV)/.installed-run
	$(BIN)/python -m app run

## test: install test tools and run every test against PostgreSQL and Redis on 127.0.0.1
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

## lint: ruff (lint + format check) and mypy
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## worker: the arq worker on its own (needs REDIS_URL)
worker: $(VENV)/.installed-run
	$(BIN)/python -m app worker

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
