"""The books follow the ledgers, however the ledger-days were stored: the hourly schedule, a backfill, the UI,
``dagster asset materialize`` from a shell, the main job, a run that failed half-way, or the warehouse machine's
load of the lake.

The sensor compares, in the instance's event log, the newest materialization of the ledger-day assets (and the
newest warehouse load) with the start of the run that computed the newest books: when the ledgers are newer, the
books are stale, and one run recomputes them. Many ledger runs finishing between two ticks coalesce into that one
run; while ledger runs are still queued or running (a backfill), it waits for them, but recomputes at least every
``MAX_TRAIL_SECONDS``, so a long backfill never leaves the books further behind than that.
"""

from __future__ import annotations

import time

import dagster as dg

from report_assets.books.build import BOOK_TABLES
from report_assets.defs.warehouse.load_job import LOAD_JOB_NAME
from report_assets.lake.schema import TABLE_OF_TOPIC
from report_assets.transforms.summaries import SUMMARY_TABLES

BOOKS_JOB_NAME = "recompute_books"
books_job = dg.define_asset_job(
    BOOKS_JOB_NAME, selection=dg.AssetSelection.assets(*BOOK_TABLES),
    description="Recompute bank_matches, bank_journal_lines and monthly_statement from the stored ledger-days and "
                "the bank folder (after the simulator's bank delivers, when on the simulator).")
LEDGER_KEYS = [dg.AssetKey(table) for table in (*TABLE_OF_TOPIC.values(), *SUMMARY_TABLES)]
BOOK_KEY = dg.AssetKey("monthly_statement")  # the books' three tables are materialized together
MAX_TRAIL_SECONDS = 180
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED]


def last_materialized(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> float:
    """The newest materialization's time (epoch seconds) among ``keys``; 0 when none."""
    times = [record.asset_entry.last_materialization_record.timestamp
             for record in instance.get_asset_records(keys)
             if record.asset_entry.last_materialization_record is not None]
    return max(times, default=0.0)


def books_computed(instance: dg.DagsterInstance) -> float:
    """When the newest books were computed from the stored ledger-days: the start of the run that wrote them (a
    books run that began before a ledger run's writes and ended after them did not see those writes), 0 when none."""
    records = instance.get_asset_records([BOOK_KEY])
    latest = records[0].asset_entry.last_materialization_record if records else None
    if latest is None:
        return 0.0
    run = instance.get_run_record_by_id(latest.run_id) if latest.run_id else None
    return (run.start_time or latest.timestamp) if run else latest.timestamp


def last_warehouse_load(instance: dg.DagsterInstance) -> float:
    """The end of the newest successful warehouse load: it stores ledger-days without materializing them."""
    records = instance.get_run_records(dg.RunsFilter(job_name=LOAD_JOB_NAME,
                                                     statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1)
    return (records[0].end_time or 0.0) if records else 0.0


def runs_in_progress(instance: dg.DagsterInstance) -> tuple[bool, bool]:
    """(a books run is queued or running, a run storing ledger-days is queued or running)."""
    runs = [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(statuses=IN_PROGRESS), limit=200)]
    books = any(run.job_name == BOOKS_JOB_NAME for run in runs)
    ledgers = any(run.job_name == LOAD_JOB_NAME or set(run.asset_selection or ()) & set(LEDGER_KEYS)
                  for run in runs)
    return books, ledgers


@dg.sensor(job=books_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Recomputes the books when ledger-days were stored after them (by any run, or a warehouse "
                       "load): one run for however many ledger runs finished since.")
def books_after_ledger_runs(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    instance = context.instance
    ledgers_at = max(last_materialized(instance, LEDGER_KEYS), last_warehouse_load(instance))
    books_at = books_computed(instance)
    if ledgers_at <= books_at:
        return dg.SkipReason("The books are newer than every stored ledger-day.")
    books_running, ledgers_running = runs_in_progress(instance)
    if books_running:
        return dg.SkipReason("A run of the books is queued or running; the next tick looks again after it.")
    if ledgers_running and time.time() - books_at < MAX_TRAIL_SECONDS:
        return dg.SkipReason(f"Ledger runs are still queued or running: the books wait for them, at most "
                             f"{MAX_TRAIL_SECONDS} s after their last recompute.")
    return dg.RunRequest(run_key=f"books-after-{ledgers_at:.6f}",
                         tags={"report_assets/books_behind_ledgers_since": f"{ledgers_at:.0f}"})
