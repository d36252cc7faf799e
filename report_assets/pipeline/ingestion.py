"""Fetching the ledger-days of many ledger dates into the lake and the warehouse, each replaced whole.

Every ledger-day (both topics) is fetched over a bounded pool of connections, driven from a thread of
its own, and kept in memory (pages validated in Arrow stay in Arrow; a small day of short pages as
validated entries, converted with the rest of its date at once). Once every ledger-day of a date is in,
the date is ready; ready dates are stored in batches by three ordered stages, each on a thread of its
own: the date files of the lake get the fetched ledgers' new rows (the others' rows carried over); one
DuckDB transaction replaces the batch's ledger-days of both topics with their status, and the checks
and summaries follow; the summaries' files, then the status file, record what is stored. A ledger-day
is stored only when both its topics were fetched; one that failed keeps its previous version everywhere
and is recorded as failed, so the next run fetches it again. A crash anywhere leaves every stored
ledger-day whole and re-running repairs it.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Protocol

import duckdb
import pyarrow as pa

from report_assets.core.checks import Finding
from report_assets.core.ledger_day import LedgerDay
from report_assets.lake.data_dir import DataDir
from report_assets.lake.parquet_lake import FetchStamp, ParquetLake, Run, entries_to_batch
from report_assets.lake.schema import TABLE_OF_TOPIC, arrow_schema
from report_assets.pipeline.date_figures import DateFigures, ledger_figures, summary_figures
from report_assets.pipeline.fetching import FailedDay, FetchedDay, FetchJob, FetchPool, FetchSpec, ThreadPool
from report_assets.pipeline.planning import DatePlan
from report_assets.report_api import ReportApiClient
from report_assets.report_api.entry_schema import page_batch
from report_assets.report_api.errors import ApiUnavailableError
from report_assets.transforms.summaries import (
    SUMMARY_CHECKS,
    SUMMARY_SORT_KEYS,
    DataCheck,
    Rules,
    raw_checks,
    run_checks,
    summarize,
)
from report_assets.warehouse.database import (
    all_threads,
    catalog_view,
    ensure_ledger_table,
    ensure_status_table,
    open_for_write,
    record_status,
    replace_slices,
    transaction,
)

LEDGER_SORT_KEYS = ("ledger_id", "position")
BATCH_ROWS = 500_000  # rows per warehouse batch (at a date's end): small enough to write while fetching goes on
# Dates per warehouse batch at most. A batch's dates are reported to Dagster (some 26 events a date, in the run's
# process) only once it is stored: a merchant's few ledgers would otherwise make a year one batch, reported only
# after all of it was stored. 3 ledgers x 365 dates, 50 captures a weekday: 21.3 s as one batch, 16.8 s in batches
# of 31 dates, 18.5 s of 15.
BATCH_DATES = 31
# Below this share of one core used since the last batch, the process is waiting on the API, not working: a date is
# then stored as soon as it is in, whenever the writer is free (see DatesToStore.waiting_on_the_api).
WAITING_CPU_SHARE = 0.5


class WriteHooks:
    """The points of a write where a test steps in (to kill the process there, proving nothing is lost):
    ``after-parquet``, ``inside-duckdb`` and ``after-first-batch``. Production's do nothing. A test's subclass
    must pickle by reference (the ingest child gets it), so it lives in an importable module."""

    def reached(self, point: str) -> None:
        """Called as the write passes ``point``."""


@dataclass
class DateOutcome:
    """What a run did with one ledger date, ledger by ledger."""

    ledger_date: str
    stored_closed: list[str] = field(default_factory=list)
    stored_open: list[str] = field(default_factory=list)
    skipped_closed: list[str] = field(default_factory=list)
    not_begun: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # ledger ID -> what went wrong
    transient: bool = False  # some failure was the API staying unavailable

    @property
    def due(self) -> list[str]:
        """The tracked ledgers whose date has begun: each should have the date stored, whatever the run did."""
        return [*self.stored_closed, *self.stored_open, *self.skipped_closed, *self.failed]


@dataclass
class BatchOutcome:
    """What one warehouse batch stored: its dates, what the checks found, and what each date's rewritten
    files now hold (worked out while their rows were in memory, so that reporting reads nothing back)."""

    dates: list[DateOutcome]
    failures: dict[DataCheck, list[Finding]]
    figures: dict[tuple[str, str], DateFigures] = field(default_factory=dict)  # (dataset, date) -> figures
    checked: list[tuple[str, str]] = field(default_factory=list)  # the ledger-days the checks ran on


@dataclass
class IngestOptions:
    source: str
    rules: Rules  # the account map and freshness, from the settings of the process that starts the ingestion
    topics: tuple[str, ...] = ("funds", "fees")
    include_gdpr: bool = False
    workers: int = 8
    with_summaries: bool = True
    warehouse_batch: int = 2000  # ledger-days per warehouse transaction, rounded up to whole dates
    in_process_up_to: int = 100  # ledger-days fetched in the caller's process; more go to a child (ingest_process)
    fetch_processes: int = 0  # processes fetching beside a child that does the work (ingest_process), sharing workers
    hooks: WriteHooks = field(default_factory=WriteHooks)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def spec(self) -> FetchSpec:
        return FetchSpec(self.include_gdpr, FetchStamp(self.fetched_at, self.source))


def date_rows(days: list[FetchedDay], options: IngestOptions) -> pa.Table:
    """The rows of some ledger-days of one date and topic: the small ones converted together."""
    schema = arrow_schema(options.include_gdpr)
    small = [f for f in days if f.items]
    batches = [b for f in days for b in f.batches]
    if small:
        runs = [Run(f.day.ledger_id, f.is_open, f.count - len(f.items) + 1, len(f.items)) for f in small]
        items = [item for f in small for item in f.items]
        batches.append(entries_to_batch(page_batch(items), runs, FetchStamp(options.fetched_at, options.source),
                                        schema, options.include_gdpr))
    return pa.Table.from_batches(batches, schema=schema)


def prepare_warehouse(connection: duckdb.DuckDBPyConnection, data: DataDir, include_gdpr: bool) -> None:
    for table in TABLE_OF_TOPIC.values():  # both, so that checks and summaries can read either
        ensure_ledger_table(connection, table, include_gdpr)
    ensure_status_table(connection)
    catalog_view(connection, data.lake)


class DateBatch:
    """Ready dates waiting to be written together: each date's outcome, and its rows to store by topic."""

    def __init__(self) -> None:
        self.outcomes: list[DateOutcome] = []
        self.tables: dict[tuple[str, str], pa.Table] = {}  # (topic, date) -> rows of the ledger-days to store
        self.stored: list[tuple[LedgerDay, str, bool, int]] = []  # (ledger-day, topic, is_open, entries)
        self.failed: list[FailedDay] = []
        self.ledger_days = 0
        self.rows = 0

    def add_date(self, plan: DatePlan, results: list[FetchedDay | FailedDay], options: IngestOptions) -> None:
        """A date whose every ledger-day is in: a ledger-day is stored only if every topic of it came in."""
        failed: dict[LedgerDay, list[FailedDay]] = defaultdict(list)
        for result in results:
            if isinstance(result, FailedDay):
                failed[result.day].append(result)
                self.failed.append(result)
        storing = [r for r in results if isinstance(r, FetchedDay) and r.day not in failed]
        open_days = {f.day for f in storing if f.is_open}
        outcome = DateOutcome(plan.ledger_date, skipped_closed=list(plan.skipped_closed),
                              not_begun=list(plan.not_begun))
        for ledger_id in plan.fetch:
            day = LedgerDay(plan.ledger_date, ledger_id)
            if day in failed:
                outcome.failed[ledger_id] = "; ".join(f"{f.topic}: {f.error}" for f in failed[day])
                outcome.transient |= any(f.transient for f in failed[day])
            elif day in open_days:
                outcome.stored_open.append(ledger_id)
            else:
                outcome.stored_closed.append(ledger_id)
        self.outcomes.append(outcome)
        for topic in options.topics:
            days = [f for f in storing if f.topic == topic]
            if days:
                self.tables[(topic, plan.ledger_date)] = date_rows(days, options)
                self.rows += self.tables[(topic, plan.ledger_date)].num_rows
        self.stored += [(f.day, f.topic, f.is_open, f.count) for f in storing]
        self.ledger_days += len(plan.fetch)


def write_lake(data: DataDir, batch: DateBatch) -> dict[tuple[str, str], DateFigures]:
    """The batch's ledger rows into the lake: the first step of storing it, never after the warehouse."""
    lake = data.lake
    ledgers_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for day, topic, _, _ in batch.stored:
        ledgers_of[(topic, day.ledger_date)].append(day.ledger_id)
    return {(topic, ledger_date): ledger_figures(
                lake.replace_ledgers(topic, ledger_date, ledgers_of[(topic, ledger_date)], rows, LEDGER_SORT_KEYS))
            for (topic, ledger_date), rows in sorted(batch.tables.items(), key=lambda item: item[0])}


def write_warehouse(data: DataDir, batch: DateBatch, options: IngestOptions, say: Callable[[str], None]) -> Checked:
    """Once the batch is in the lake: its ledger-days and their status in one transaction, then the checks
    and summaries in the same connection."""
    if not batch.stored:
        return Checked({})
    keys = sorted({day.key for day, _, _, _ in batch.stored})
    with open_for_write(data.warehouse, say=say, bulk=True) as connection:
        prepare_warehouse(connection, data, options.include_gdpr)
        options.hooks.reached("after-parquet")
        with transaction(connection):  # the batch's ledger-days of both topics, and their status, at once
            for topic, table in TABLE_OF_TOPIC.items():
                tables = [rows for (t, _), rows in batch.tables.items() if t == topic]
                topic_keys = [day.key for day, t, _, _ in batch.stored if t == topic]
                if topic_keys:
                    replace_slices(connection, table, topic_keys, pa.concat_tables(tables))
            record_status(connection, [(day.ledger_id, day.ledger_date, topic, is_open, entries,
                                        options.fetched_at, options.source)
                                       for day, topic, is_open, entries in batch.stored])
            options.hooks.reached("inside-duckdb")
        with all_threads(connection):
            return check_and_summarize(connection, keys, options.with_summaries, options.rules)


def finish_batch(data: DataDir, batch: DateBatch, checked: Checked, fetched_at: datetime,
                 figures: dict[tuple[str, str], DateFigures]) -> BatchOutcome:
    """The summaries into the lake, then the status file: a ledger-day recorded as stored has everything."""
    figures = figures | write_summary_files(data.lake, checked)
    data.status.record_stored(batch.stored, fetched_at)
    data.status.record_failed([(f.day, f.topic, f.error) for f in batch.failed])
    return BatchOutcome(sorted(batch.outcomes, key=lambda o: o.ledger_date), checked.failures, figures,
                        checked.keys)


class BatchWriter:
    """Stores batches in order, in three stages, each on a thread of its own: a batch's ledger files are
    written while the batch before it is in the warehouse (transaction, checks, summaries), and that one's
    summary files and status while the next is in the warehouse. Each batch still reaches the lake before
    the warehouse, and the status file last; each stage keeps the order of the batches."""

    def __init__(self, data: DataDir, options: IngestOptions, say: Callable[[str], None]) -> None:
        self.data, self.options, self.say = data, options, say
        self.stages = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{name}")
                       for name in ("lake", "warehouse", "summaries")]

    def submit(self, batch: DateBatch) -> Future[BatchOutcome]:
        lake, warehouse, summaries = self.stages
        in_lake = lake.submit(write_lake, self.data, batch)

        def to_warehouse() -> Checked:
            in_lake.result()  # raises if the lake write failed: nothing of the batch goes further
            return write_warehouse(self.data, batch, self.options, self.say)

        checked = warehouse.submit(to_warehouse)
        return summaries.submit(lambda: finish_batch(self.data, batch, checked.result(), self.options.fetched_at,
                                                     in_lake.result()))

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        for stage in self.stages:
            stage.shutdown()


@dataclass
class Checked:
    """What the checks found in a batch, and the summaries recomputed for it (to go to the lake)."""

    failures: dict[DataCheck, list[Finding]]
    summaries: dict[str, pa.Table] = field(default_factory=dict)
    recomputed: list[tuple[str, str]] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)  # the ledger-days the raw checks ran on


def check_and_summarize(connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]],
                        with_summaries: bool, rules: Rules) -> Checked:
    """Runs the raw checks on ``keys``; ledger-days failing a blocking one get no summaries. The summaries of
    the rest (and of their stored neighbours) are replaced in the warehouse, and returned for the lake."""
    failures = run_checks(connection, keys, raw_checks(), rules)
    blocked = {(f.ledger_id, f.ledger_date) for check, found in failures.items() if check.blocking for f in found}
    clean = [k for k in keys if k not in blocked]
    if not with_summaries or not clean:
        return Checked(failures, keys=keys)
    summaries, recomputed = summarize(connection, clean, rules)
    failures.update(run_checks(connection, clean, SUMMARY_CHECKS, rules))
    return Checked(failures, summaries, recomputed, keys)


def write_summary_files(lake: ParquetLake, checked: Checked) -> dict[tuple[str, str], DateFigures]:
    ledgers_of_date: dict[str, list[str]] = defaultdict(list)
    for ledger_id, ledger_date in checked.recomputed:
        ledgers_of_date[ledger_date].append(ledger_id)
    figures = {}
    for table, rows in checked.summaries.items():
        dates = rows.column("ledger_date").cast(pa.string())
        for ledger_date, ledger_ids in sorted(ledgers_of_date.items()):
            stored = lake.replace_ledgers(table, ledger_date, ledger_ids,
                                          rows.filter(pa.compute.equal(dates, ledger_date)), SUMMARY_SORT_KEYS[table])
            figures[(table, ledger_date)] = summary_figures(table, stored)
    return figures


def summarize_stored(data: DataDir, keys: list[tuple[str, str]], rules: Rules,
                     say: Callable[[str], None]) -> BatchOutcome:
    """Recomputes checks and summaries of ledger-days already in the warehouse, fetching nothing."""
    with open_for_write(data.warehouse, say=say) as connection:
        prepare_warehouse(connection, data, include_gdpr=False)
        checked = check_and_summarize(connection, keys, True, rules)
    return BatchOutcome([], checked.failures, write_summary_files(data.lake, checked), checked.keys)


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class DatesToStore:
    """Fetched ledger-days gathered into whole dates, and whole dates into warehouse batches for the writer; the
    batches stored so far handed back in order."""

    writer: BatchWriter
    options: IngestOptions
    plan_of: dict[str, DatePlan]
    fetched: defaultdict[str, list[FetchedDay | FailedDay]] = field(default_factory=lambda: defaultdict(list))
    batch: DateBatch = field(default_factory=DateBatch)
    writes: deque[Future[BatchOutcome]] = field(default_factory=deque)
    # The wall clock and this process's CPU time at the last batch (or the start)
    since: tuple[float, float] = field(default_factory=lambda: (time.monotonic(), time.process_time()))

    def date_ready(self, ledger_date: str) -> None:
        self.batch.add_date(self.plan_of[ledger_date], self.fetched.pop(ledger_date, []), self.options)
        if (self.batch.ledger_days >= self.options.warehouse_batch or self.batch.rows >= BATCH_ROWS
                or len(self.batch.outcomes) >= BATCH_DATES or self.waiting_on_the_api()):
            self.flush()

    def waiting_on_the_api(self) -> bool:
        """Whether the writer is free and this process used under ``WAITING_CPU_SHARE`` of a core since the last
        batch. Then fetching waits on the API (production answers tens of milliseconds late) and a batch costs
        nothing that anything waits for, while the last one, which nothing overlaps, is what a run's end waits
        on: small batches keep it small. A process busy fetching and storing (a fast API) keeps large batches,
        whose fixed costs it would otherwise pay many times over; the writing counts, so small batches that cost
        too much stop themselves."""
        if any(not write.done() for write in self.writes):
            return False
        wall, cpu = time.monotonic() - self.since[0], time.process_time() - self.since[1]
        return cpu < WAITING_CPU_SHARE * wall

    def flush(self) -> None:
        if self.batch.outcomes:
            self.writes.append(self.writer.submit(self.batch))
            self.batch = DateBatch()
            self.since = (time.monotonic(), time.process_time())

    def stored(self, block: bool) -> Iterator[BatchOutcome]:
        """The batches written so far, in order; waits for the oldest when asked to, or when two are queued (so
        that fetched rows never pile up in memory faster than they are written)."""
        while self.writes and (block or self.writes[0].done() or len(self.writes) > 1):
            yield self.writes.popleft().result()


def fetch_and_store(client: ReportApiClient, data: DataDir, plans: Iterable[DatePlan], options: IngestOptions,
                    say: Callable[[str], None], stop: StopFlag,
                    pools: Sequence[FetchPool] = ()) -> Iterator[BatchOutcome]:
    """Fetches every planned ledger-day over a bounded window of jobs, date by date, while the writer stages store
    the dates already complete; yields each batch of dates once stored. Each job goes to the least busy of this
    process's fetch threads and ``pools`` (fetchers elsewhere, sharing ``options.workers``). Stops submitting
    fetches once ``stop`` is set (what is in flight is still stored whole). ``ingest_process.ingest`` runs it in
    a child process."""
    plans = sorted(plans, key=lambda plan: plan.ledger_date)
    jobs = iter([FetchJob(plan.ledger_date, ledger_id, topic) for plan in plans for ledger_id in plan.fetch
                 for topic in options.topics])
    remaining = {plan.ledger_date: len(plan.fetch) * len(options.topics) for plan in plans}
    local = ThreadPool(client, options.spec, max(1, options.workers - sum(pool.threads for pool in pools)))

    fetchers: list[FetchPool] = [local, *pools]
    with ExitStack() as closing, BatchWriter(data, options, say) as writer:
        for fetcher in fetchers:  # each closed at the end, even if another's close raised
            closing.callback(fetcher.close)
        dates = DatesToStore(writer, options, {plan.ledger_date: plan for plan in plans})
        running: dict[FetchJob, int] = {}  # job -> the fetcher it went to
        busy = [0] * len(fetchers)
        # Each fetch says itself when it is done: with thousands of small ledger-days, waiting on the running
        # futures together (concurrent.futures.wait) cost the loop a tenth of the interpreter's time.
        finished: SimpleQueue[tuple[FetchJob, FetchedDay | BaseException]] = SimpleQueue()

        def done(job: FetchJob, outcome: FetchedDay | BaseException) -> None:
            finished.put((job, outcome))

        def submit_next() -> None:
            job = None if stop.is_set() else next(jobs, None)
            if job is not None:
                ready = [i for i, fetcher in enumerate(fetchers) if fetcher.ready]
                chosen = min(ready, key=lambda i: busy[i] / fetchers[i].threads)
                running[job] = chosen
                busy[chosen] += 1
                fetchers[chosen].submit(job, done)

        for plan in plans:  # dates with nothing to fetch are ready at once
            if not remaining[plan.ledger_date]:
                dates.date_ready(plan.ledger_date)
        for _ in range(options.workers * 2):  # a bounded window: memory does not grow with the backfill
            submit_next()
        while running:
            job, outcome = finished.get()
            busy[running.pop(job)] -= 1
            if isinstance(outcome, BaseException):  # one ledger-day's failure must not stop the others
                if not isinstance(outcome, Exception):
                    raise outcome
                outcome = FailedDay(job.topic, job.day, str(outcome), isinstance(outcome, ApiUnavailableError))
            dates.fetched[job.ledger_date].append(outcome)
            submit_next()
            remaining[job.ledger_date] -= 1
            if not remaining[job.ledger_date]:
                dates.date_ready(job.ledger_date)
            yield from dates.stored(block=False)
        dates.flush()
        yield from dates.stored(block=True)

