"""Fetching ledger-days, one topic each, into memory, on pools of fetchers that say when each job is done.

A run's loop (``ingestion.fetch_and_store``) hands jobs to whichever pool is least busy and gathers what
comes back into whole dates. The threads of one process share its interpreter lock, and a partner's
thousands of small ledger-days cost more of it per entry (a request each) than the loop can spare: a pool
of threads in another process (``fetch_process``) adds an interpreter, the local pool of threads keeps
a small run in one process.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from report_assets.core.ledger_day import LedgerDay
from report_assets.lake.parquet_lake import FetchStamp, Run, entries_to_batch
from report_assets.lake.schema import arrow_schema
from report_assets.report_api import ReportApiClient
from report_assets.report_api.entry_schema import page_batch

SMALL_DAY = 5_000  # entries of a ledger-day kept as validated dicts until its date is converted at once


@dataclass(frozen=True)
class FetchJob:
    """One topic of one ledger-day to fetch."""

    ledger_date: str
    ledger_id: str
    topic: str

    @property
    def day(self) -> LedgerDay:
        return LedgerDay(self.ledger_date, self.ledger_id)


@dataclass(frozen=True)
class FetchSpec:
    """What every fetch of a run shares: whether to ask for GDPR fields, and the stamp its rows carry."""

    include_gdpr: bool
    stamp: FetchStamp


@dataclass
class FetchedDay:
    """One topic of one ledger-day, as fetched. A small day of short pages keeps its validated entries, to be
    converted with the rest of its date at once; a large one, or one whose pages validation already put in
    Arrow, is in the ledger table's form page by page as it arrives."""

    topic: str
    day: LedgerDay
    is_open: bool
    count: int
    items: list[dict[str, Any]] = field(default_factory=list)
    batches: list[pa.RecordBatch] = field(default_factory=list)


@dataclass
class FailedDay:
    topic: str
    day: LedgerDay
    error: str
    transient: bool  # the API stayed unavailable: worth trying again later


def fetch_day(client: ReportApiClient, job: FetchJob, spec: FetchSpec) -> FetchedDay:
    schema = arrow_schema(spec.include_gdpr)
    day = job.day
    fetched = FetchedDay(job.topic, day, False, 0)
    with client.read_date(day.ledger_id, job.topic, day.ledger_date, include_gdpr=spec.include_gdpr) as read:
        fetched.is_open = read.is_open

        def convert(page: pa.RecordBatch) -> None:
            run = Run(day.ledger_id, read.is_open, fetched.count + 1, page.num_rows)
            fetched.batches.append(entries_to_batch(page, [run], spec.stamp, schema, spec.include_gdpr))
            fetched.count += page.num_rows

        for items, arrow in read.iter_pages_with_arrow():
            if arrow is not None or fetched.batches or len(fetched.items) + len(items) > SMALL_DAY:
                if fetched.items:  # a large day, or pages validated in Arrow: into the ledger table now, in order
                    convert(page_batch(fetched.items))
                    fetched.items = []
                convert(arrow if arrow is not None else page_batch(items))
            else:
                fetched.items += items
    fetched.count += len(fetched.items)
    return fetched


Done = Callable[[FetchJob, FetchedDay | BaseException], None]  # told each job's day, or why it failed


class FetchPool(Protocol):
    """Fetchers that take jobs and call ``done`` once with each job's outcome, from a thread of their own."""

    threads: int  # jobs fetched at once

    @property
    def ready(self) -> bool:
        """Whether jobs given now would start soon (a pool still starting, or dead, takes none)."""

    def submit(self, job: FetchJob, done: Done) -> None: ...

    def close(self) -> None: ...


class ThreadPool:
    """Fetch threads in this process, sharing its client (one token, one connection pool)."""

    def __init__(self, client: ReportApiClient, spec: FetchSpec, threads: int) -> None:
        self.client, self.spec, self.threads = client, spec, threads
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch")

    @property
    def ready(self) -> bool:
        return True

    def submit(self, job: FetchJob, done: Done) -> None:
        def tell(future: Future[FetchedDay]) -> None:
            error = future.exception()
            done(job, error if error is not None else future.result())

        self.pool.submit(fetch_day, self.client, job, self.spec).add_done_callback(tell)

    def close(self) -> None:
        self.pool.shutdown()
