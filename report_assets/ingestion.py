"""Fetching ledger-days into the lake and the warehouse, many at a time, each replaced whole.

Per ledger-day: the client validates every page, the pages stream into the day's Parquet file
(atomic rename), and then a DuckDB transaction replaces the day's rows (one transaction per batch
of ledger-days, so a year's backfill is not thousands of tiny transactions). Only after both is the
partition reported materialized, so a failure anywhere leaves the ledger-day to be fetched again.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from report_assets.assets.partitions import LedgerDay
from report_assets.data_dir import DataDir
from report_assets.report_api import ReportApiClient
from report_assets.report_api.errors import ApiUnavailableError
from report_assets.storage.lake import DayStamp, ParquetLake, page_to_batch
from report_assets.storage.schema import TABLE_OF_TOPIC, arrow_schema
from report_assets.storage.summaries import (
    SUMMARY_CHECKS,
    DataCheck,
    Failure,
    raw_checks,
    run_checks,
    summarize,
    write_summary_files,
)
from report_assets.storage.warehouse import (
    create_file_view,
    ensure_ledger_table,
    ensure_status_table,
    open_for_write,
    record_status,
    replace_slices,
)

ENV_WAREHOUSE_BATCH = "REPORT_ASSETS_WAREHOUSE_BATCH"
DEFAULT_WAREHOUSE_BATCH = 256  # ledger-days written per warehouse connection, so others get a turn at the lock
ENV_CRASH_AT = "REPORT_ASSETS_CRASH_AT"  # tests only: kill the process at a named point


def crash_point(name: str) -> None:
    """Lets a test kill the process at an exact point of a write, to prove nothing is lost."""
    if os.environ.get(ENV_CRASH_AT) == name:
        os._exit(70)


@dataclass
class FetchedDay:
    topic: str
    day: LedgerDay
    path: Path
    rows: int
    is_open: bool
    pages: int
    bytes_fetched: int
    currency: str | None
    opening_balance: int | None
    closing_balance: int | None
    amount_by_entry_type: dict[str, int]
    unknown_entry_types: dict[str, int]


@dataclass
class FailedDay:
    topic: str
    day: LedgerDay
    error: str
    transient: bool  # the API stayed unavailable: worth a retry of the run later


@dataclass
class IngestOptions:
    source: str
    include_gdpr: bool = False
    workers: int = 8
    with_summaries: bool = True
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    warehouse_batch: int = field(
        default_factory=lambda: int(os.environ.get(ENV_WAREHOUSE_BATCH, DEFAULT_WAREHOUSE_BATCH)))


def fetch_to_lake(client: ReportApiClient, lake: ParquetLake, topic: str, day: LedgerDay,
                  options: IngestOptions) -> FetchedDay:
    schema = arrow_schema(options.include_gdpr)
    amounts: Counter[str] = Counter()
    balances: list[int] = []
    with client.read_date(day.ledger_id, topic, day.ledger_date, include_gdpr=options.include_gdpr) as read:
        stamp = DayStamp(day.ledger_id, read.is_open, options.fetched_at, options.source)

        def batches() -> Iterator[pa.RecordBatch]:
            position = 1
            for items in read.iter_pages():
                if items and not balances:
                    balances.append(items[0]["balanceBefore"])
                for item in items:
                    amounts[item["entryType"]] += item["amount"]
                yield page_to_batch(items, stamp, position, schema, options.include_gdpr)
                position += len(items)

        path, rows = lake.write_day(topic, day.ledger_id, day.ledger_date, schema, batches())
    return FetchedDay(topic, day, path, rows, read.is_open, read.pages, read.bytes_fetched, read.currency,
                      balances[0] if balances else None, read.closing_balance, dict(amounts),
                      read.unknown_entry_types)


@dataclass
class BatchOutcome:
    """What one warehouse batch stored: the ledger-days, their summaries, and the checks' findings."""

    fetched: list[FetchedDay]
    summaries: dict[str, pa.Table]  # rows of the batch's ledger-days that passed the blocking checks
    failures: dict[DataCheck, list[Failure]]
    summary_paths: dict[str, dict[tuple[str, str], Path]]
    summarized: list[tuple[str, str]]  # the ledger-days whose summaries were computed (a payout or not)


def check_and_summarize(connection: duckdb.DuckDBPyConnection, data: DataDir, keys: list[tuple[str, str]],
                        with_summaries: bool, fetched: list[FetchedDay]) -> BatchOutcome:
    """Runs the raw checks on ``keys``; ledger-days failing a blocking one get no summaries."""
    failures = run_checks(connection, keys, raw_checks())
    blocked = {(f[0], f[1]) for check, found in failures.items() if check.blocking for f in found}
    clean = [k for k in keys if k not in blocked]
    if not with_summaries or not clean:
        return BatchOutcome(fetched, {}, failures, {}, [])
    summaries = summarize(connection, clean)
    failures.update(run_checks(connection, clean, SUMMARY_CHECKS))
    paths = {table: write_summary_files(data.lake, table, rows) for table, rows in summaries.items()}
    return BatchOutcome(fetched, summaries, failures, paths, clean)


def prepare_warehouse(connection: duckdb.DuckDBPyConnection, data: DataDir, include_gdpr: bool) -> None:
    for table in TABLE_OF_TOPIC.values():  # both, so that checks and summaries can read either
        ensure_ledger_table(connection, table, include_gdpr)
    ensure_status_table(connection)
    if data.ledger_catalog.exists():
        create_file_view(connection, "ledgers", str(data.ledger_catalog))


def write_to_warehouse(data: DataDir, fetched: list[FetchedDay], options: IngestOptions,
                       say: Callable[[str], None]) -> BatchOutcome:
    with open_for_write(data.warehouse, say=say) as connection:
        prepare_warehouse(connection, data, options.include_gdpr)
        crash_point("after-parquet")
        for topic, table in TABLE_OF_TOPIC.items():
            slices = [(f.day.ledger_id, f.day.ledger_date, f.path) for f in fetched if f.topic == topic]
            if slices:
                replace_slices(connection, table, slices, before_commit=lambda: crash_point("inside-duckdb"))
        record_status(connection, [(f.day.ledger_id, f.day.ledger_date, f.topic, f.is_open, f.rows,
                                    options.fetched_at, options.source) for f in fetched])
        keys = sorted({(f.day.ledger_id, f.day.ledger_date) for f in fetched})
        return check_and_summarize(connection, data, keys, options.with_summaries, fetched)


def summarize_stored(data: DataDir, keys: list[tuple[str, str]], say: Callable[[str], None]) -> BatchOutcome:
    """Recomputes checks and summaries of ledger-days already in the warehouse, fetching nothing."""
    with open_for_write(data.warehouse, say=say) as connection:
        prepare_warehouse(connection, data, include_gdpr=False)
        return check_and_summarize(connection, data, keys, with_summaries=True, fetched=[])


def ingest(client: ReportApiClient, data: DataDir, topics: Iterable[str], days: Iterable[LedgerDay],
           options: IngestOptions, say: Callable[[str], None]) -> Iterator[BatchOutcome | FailedDay]:
    """Fetches every (topic, day) over a bounded pool. Yields each ledger-day that failed as it fails,
    and each warehouse batch once stored, so that the caller reports them as they happen."""
    data.claim(options.source)
    lake = ParquetLake(data.lake)
    jobs = [(topic, day) for day in days for topic in topics]
    pending: list[FetchedDay] = []
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="fetch") as pool:
        queue = iter(jobs)
        running: dict[Future[FetchedDay], tuple[str, LedgerDay]] = {}

        def submit_next() -> None:
            job = next(queue, None)
            if job is not None:
                running[pool.submit(fetch_to_lake, client, lake, job[0], job[1], options)] = job

        for _ in range(options.workers * 2):  # a bounded window: memory does not grow with the backfill
            submit_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                topic, day = running.pop(future)
                try:
                    pending.append(future.result())
                except Exception as exc:  # one ledger-day's failure must not stop the others
                    yield FailedDay(topic, day, str(exc), isinstance(exc, ApiUnavailableError))
                submit_next()
            if len(pending) >= options.warehouse_batch:
                yield write_to_warehouse(data, pending, options, say)
                pending = []
                crash_point("after-first-batch")
    if pending:
        yield write_to_warehouse(data, pending, options, say)
