"""The one Definitions of the project: assets, checks, resources, the schedule and the sensors.

With no Report API credentials in the environment the code location reads the embedded simulator;
with all of them it reads production; with some of them, or a bad ``REPORT_ASSETS_*`` setting, it
refuses to load and says what is wrong. Loading writes nothing anywhere.
"""

from __future__ import annotations

import os

import dagster as dg

from report_assets.defs.automation.books_sensor import books_after_ledger_runs, books_job
from report_assets.defs.automation.discovery import ledger_catalog, ledger_discovery_sensor, refresh_ledgers_job
from report_assets.defs.automation.intraday_sensor import intraday_feed_sensor
from report_assets.defs.automation.schedules import hourly_ledger_refresh
from report_assets.defs.books.assets import books
from report_assets.defs.ledgers.assets import ledger_entries
from report_assets.defs.resources import DataDirResource, report_api_from_env
from report_assets.defs.warehouse.load_job import load_warehouse_job
from report_assets.settings import said_first

# A one-run backfill of a year plans one event per asset, not one per asset and date (1,825 for a year of five
# assets, ~6 ms each): Dagster's own switch, read where runs are created (this process for the dagster CLI and
# the main job; `make ui` sets it for the daemon). Partitions of a failed run are then not marked failed in
# the UI; each date's metadata and the check all_tracked_ledgers_stored say what failed instead.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")

defs = dg.Definitions(
    assets=[ledger_entries, books, ledger_catalog],
    sensors=[ledger_discovery_sensor, intraday_feed_sensor, books_after_ledger_runs],
    schedules=[hourly_ledger_refresh],
    jobs=[refresh_ledgers_job, books_job, load_warehouse_job],
    resources={"report_api": said_first(report_api_from_env), "data_dir": DataDirResource()},
    # Every job here is the one ledger step: a step process of its own would only add its start-up to each run.
    executor=dg.in_process_executor,
)
