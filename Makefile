# One command each: `make main` installs everything and runs the main job on the simulator;
# `make test` installs everything and runs the tests. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: main test lint bench ui

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

main: $(STAMP)
	$(BIN)/python -m report_assets.main_job

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check report_assets report_assets_tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_client.py

ui: $(STAMP)
	$(BIN)/dagster dev -w workspace.yaml
