"""The books follow the ledgers: after a run that stored ledger-days succeeds (the hourly schedule, a
backfill, a materialization from the UI, or the warehouse machine's load of the lake), one run recomputes the
books that span dates."""

import dagster as dg

from report_assets.books.build import BOOK_TABLES
from report_assets.defs.warehouse.load_job import load_warehouse_job
from report_assets.storage.schema import TABLE_OF_TOPIC

books_job = dg.define_asset_job(
    "recompute_books", selection=dg.AssetSelection.assets(*BOOK_TABLES),
    description="Recompute bank_matches, bank_journal_lines and monthly_statement from the stored ledger-days and "
                "the bank folder (after the simulator's bank delivers, when on the simulator).")
LEDGER_KEYS = {dg.AssetKey(table) for table in TABLE_OF_TOPIC.values()}
LOAD_JOB = load_warehouse_job.name


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, request_job=books_job, minimum_interval_seconds=30,
                      default_status=dg.DefaultSensorStatus.RUNNING)
def books_after_ledger_runs(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    loaded = context.dagster_run.job_name == LOAD_JOB  # the warehouse machine loaded what other machines stored
    if not loaded and not (context.dagster_run.asset_selection or set()) & LEDGER_KEYS:
        return dg.SkipReason(f"Run {context.dagster_run.run_id} stored no ledger-days.")
    return dg.RunRequest(run_key=context.dagster_run.run_id)
