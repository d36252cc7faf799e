# One command each: `make main` installs everything and runs the main job on the simulator;
# `make test` installs everything and runs the tests. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Dagster's switch, read where runs are created: a one-run backfill of a year plans one event per asset, not one per
# asset and date (1,825 for a year of five assets, ~6 ms each). Partitions of a failed run are then not marked
# failed in the UI; each date's metadata and the check all_tracked_ledgers_stored say what failed instead.
PLANNED := DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true

.PHONY: main test test-fast layers lint bench ui export books load-warehouse

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Options pass through ARGS, e.g. make main ARGS="--days 30" (see: make main ARGS=--help).
main: $(STAMP)
	$(PLANNED) $(BIN)/python -m report_assets.main_job $(ARGS)

# A month's files per ledger (journal and statement CSV, Excel workbook, SAF-T), after fetching the month's dates
# not stored, e.g. make export MONTH=2026-10 (ARGS="--ledger 302321 --dialect norwegian", or "--no-fetch").
export: $(STAMP)
	$(PLANNED) $(BIN)/python -m report_assets.export --month "$(MONTH)" $(ARGS)

# The books (bank matches, bank vouchers, monthly statements) recomputed from what is stored, when no daemon runs
# the sensor that does it after every ledger run.
books: $(STAMP)
	$(PLANNED) $(BIN)/python -m report_assets.main_job --books

# The warehouse machine of a deployment whose runs are elsewhere: load what changed in the lake (README).
load-warehouse: $(STAMP)
	$(BIN)/python -m report_assets.load_warehouse

# Two processes, a test file each at a time (module fixtures are not built twice): most of the wall time is
# waiting on servers, daemons and their ticks, which two files overlap.
test: $(STAMP) layers
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

# The in-process tier, after every change: no server or command of its own, no partner's volume. Four processes, a
# file each at a time: its tests wait on simulator threads and SQLite as much as they compute (about 85 s here).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 4 --dist loadfile -m "not integration and not system and not volume" --durations=10

# The packages' layers (README, 'Layout'; contracts in pyproject.toml): an import running back up fails.
layers: $(STAMP)
	$(BIN)/lint-imports

lint: $(STAMP) layers
	$(BIN)/ruff check report_assets report_assets_tests benchmarks
	$(BIN)/dg check defs

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_client.py
	$(BIN)/python benchmarks/bench_backfill.py W1 W2
	$(BIN)/python benchmarks/bench_books.py W1 W2
	$(BIN)/python benchmarks/bench_lake_store.py

# The project's instance, as make main uses: data/dagster_home, its dagster.yaml a link to the one here.
INSTANCE := $(CURDIR)/data/dagster_home
$(INSTANCE)/dagster.yaml:
	mkdir -p $(INSTANCE) && ln -s ../../dagster.yaml $@

ui: $(STAMP) $(INSTANCE)/dagster.yaml
	DAGSTER_HOME=$(INSTANCE) $(PLANNED) $(BIN)/dagster dev -w workspace.yaml
