"""The project's Definitions, built by one function from the settings read once by whoever loads them (the code
location, the main job, a test): no definition reads the environment itself."""

from __future__ import annotations

import dagster as dg

from report_assets.defs.automation.books_sensor import books_after_ledger_runs, books_job
from report_assets.defs.automation.discovery import ledger_catalog, ledger_discovery_sensor, refresh_ledgers_job
from report_assets.defs.automation.intraday_sensor import intraday_feed_sensor
from report_assets.defs.automation.schedules import hourly_ledger_refresh
from report_assets.defs.books.assets import books_step
from report_assets.defs.ledgers.assets import ledger_step
from report_assets.defs.partitions import ledger_dates
from report_assets.defs.resources import DataDirResource, ReportApiResource, report_api_from_env
from report_assets.defs.warehouse.load_job import load_warehouse_job
from report_assets.pipeline.ingestion import WriteHooks
from report_assets.settings import Settings


def project_definitions(settings: Settings, report_api: ReportApiResource | None = None,
                        hooks: WriteHooks | None = None) -> dg.Definitions:
    """Assets, checks, jobs, the schedule, the sensors and the resources, as ``settings`` shape them.
    ``report_api``: production or the embedded simulator as the environment says, unless given (a test's
    simulator); ``hooks``: a test's, stepping into the writes."""
    dates = ledger_dates(settings)
    return dg.Definitions(
        assets=[ledger_step(settings, dates, hooks), books_step(settings), ledger_catalog],
        sensors=[ledger_discovery_sensor(settings, dates), intraday_feed_sensor(settings), books_after_ledger_runs],
        schedules=[hourly_ledger_refresh(settings)],
        jobs=[refresh_ledgers_job, books_job, load_warehouse_job(settings)],
        resources={"report_api": report_api or report_api_from_env(settings),
                   "data_dir": DataDirResource.of(settings)},
        # Every job here is the one ledger step: a step process of its own would only add its start-up to each run.
        executor=dg.in_process_executor,
    )
