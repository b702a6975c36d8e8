# iub: `make run` serves on http://127.0.0.1:8000 (Swagger UI at /docs; `make run PORT=8080 HOST=0.0.0.0`
# for another address); `make test` runs the suite.
PYTHON ?= python3
HOST = 127.0.0.1
PORT = 8000
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install eark run test lint bench openapi migrate constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the declared or pinned dependencies change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The E-ARK validator, used by the archive package test: it pins its own lxml, so it gets a
# virtual environment of its own, pinned by constraints-eark.txt.
EARK_VENV ?= .venv-eark
EARK_STAMP := $(EARK_VENV)/.installed

$(EARK_STAMP): constraints-eark.txt
	$(PYTHON) -m venv $(EARK_VENV)
	$(EARK_VENV)/bin/python -m pip install --quiet -c constraints-eark.txt --upgrade pip
	$(EARK_VENV)/bin/python -m pip install --quiet -c constraints-eark.txt eark-validator
	touch $(EARK_STAMP)

eark: $(EARK_STAMP)

migrate: install
	$(BIN)/iub migrate

run: install
	$(BIN)/iub migrate
	$(BIN)/iub catalog load --demo --if-empty
	$(BIN)/iub serve --host $(HOST) --port $(PORT)

test: install eark
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check app tests bench alembic
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy app bench

# `make bench` (QUICK=1: a short run, under two minutes). Needs PostgreSQL (IUB_BENCH_PG, default
# postgresql+asyncpg://postgres@127.0.0.1:5432); the load generator is wrk, installed here where
# apt-get can, else the Python generator in bench/load.py.
bench: install
	@command -v wrk >/dev/null 2>&1 || (apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1)) || \
	  echo "wrk is not installed: the Python load generator is used"
	$(BIN)/python -m bench $(if $(QUICK),--quick)

openapi: install
	$(BIN)/python -m app.openapi_export > openapi.yaml

# Regenerate constraints.txt from pyproject.toml (with the dev extra) with uv's resolver. Pins that
# still fit are kept: nothing is upgraded unless asked, e.g. `make constraints UPGRADE="--upgrade-package
# httpx"` (or UPGRADE=--upgrade for everything). No index URL is written. pip and uv are pinned too.
UPGRADE ?=
constraints: $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt uv
	printf 'pip\nuv\n' | $(BIN)/uv pip compile pyproject.toml - --extra dev --python $(BIN)/python \
	  --no-header --no-annotate --quiet $(UPGRADE) --output-file constraints.txt

clean:
	rm -rf $(VENV) $(EARK_VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
