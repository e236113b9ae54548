# `make run` and `make test` work on a fresh machine with Python 3.11+: they create .venv,
# install what they need, and go.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

## Set up, migrate and serve on SQLite in ./var in sandbox mode (http://127.0.0.1:8000/docs).
run: $(VENV)/.installed
	$(BIN)/gigforge serve --sandbox

## Set up with the dev extra and run the test suite on TEST_WORKERS processes (pytest-xdist).
## Three on two cores: much of the suite waits on PostgreSQL, sandboxes and worker processes,
## so a third process keeps both cores busy (measured: two left them about 60 % used).
TEST_WORKERS ?= 3
test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS)

## Lint, format check and strict type check.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

## Throughput and latency of the API on loopback.
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
