# floe — two commands: `make run` (install + run the main job) and `make test` (install + test).
# Only Python 3.11+ is needed: uv is bootstrapped into .floe/bootstrap when not on PATH.

PYTHON ?= python3
UV_VERSION := 0.13.8
BOOTSTRAP := .floe/bootstrap
# Recursive (=) so it is evaluated after the bootstrap step has run.
UV = $(shell command -v uv 2>/dev/null || echo $(BOOTSTRAP)/bin/uv)

export DAGSTER_HOME := $(CURDIR)/.floe/dagster
# Never download a Python, never phone home (these machines have no internet).
export UV_PYTHON_DOWNLOADS := never
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: run run-prod test dev install prepare lint format bench clean

run: prepare
	$(UV) run --frozen python -m platform_defs.main

# Two workers: the machines have 2 cores, and the suite is mostly waiting on subprocesses,
# catalogs and dbt (about half the wall time of a serial run).
test: prepare
	$(UV) run --frozen pytest -n 2

# The main job as production runs it: Dagster instance, Iceberg catalog and ops store on the
# local PostgreSQL, files from the landing zone data_lake/ (docs/production.md). Not `prepare`:
# platform_defs.prod writes the dbt profile itself, for the PostgreSQL catalog.
run-prod: install
	$(UV) run --frozen python -m platform_defs.prod

dev: prepare
	$(UV) run --frozen dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

install:
	@command -v uv >/dev/null 2>&1 || test -x $(BOOTSTRAP)/bin/uv || \
		( echo "uv not found: bootstrapping uv $(UV_VERSION) into $(BOOTSTRAP)" && \
		  $(PYTHON) -m venv $(BOOTSTRAP) && \
		  $(BOOTSTRAP)/bin/python -m pip install --quiet "uv==$(UV_VERSION)" )
	$(UV) sync --frozen

# Dagster instance home + dbt manifest, so the code location loads without running dbt.
prepare: install
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(UV) run --frozen python -m platform_defs.transform.prepare

lint:
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format:
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench: install
	$(UV) run --frozen python bench/ingest.py
	$(UV) run --frozen python bench/transform.py
	$(UV) run --frozen python bench/landing.py
	$(UV) run --frozen python bench/push.py    # needs PostgreSQL at 127.0.0.1:5432

clean:
	rm -rf .floe dbt/target dbt/logs
