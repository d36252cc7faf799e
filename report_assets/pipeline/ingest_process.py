"""Fetching and storing in a process of its own, while the caller reports what landed.

A run's process reports every stored date to Dagster (a materialization event per asset and date, tens
of milliseconds each in SQLite) while fetching, converting and writing go on. In one process these
share one interpreter lock, and the reporting, not the work, set the pace of a year's backfill. So
for any run larger than a few dates ``ingest`` spawns a child that does the work
(``ingestion.fetch_and_store``) and hands back each stored batch's outcome, its log lines and any
error; the parent only reports. The child starts ``options.fetch_processes`` fetch processes
(``fetch_process``) that share its fetching, and the run's one token. It stops fetching when asked (the
caller stopped early) or when its parent dies, and always finishes the dates it is writing, so what is
stored stays whole. A small run (a merchant's hourly one) does the work itself: there the child's
start would cost more than it saves.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from report_assets.lake.data_dir import DataDir
from report_assets.pipeline.fetch_process import ProcessPool
from report_assets.pipeline.ingestion import BatchOutcome, IngestOptions, fetch_and_store
from report_assets.pipeline.planning import DatePlan
from report_assets.pipeline.spawned import die_with, sendable, settings_from_recipe, settings_recipe
from report_assets.report_api import ApiSettings, ReportApiClient

POLL_SECONDS = 2.0  # how often the parent looks whether the child is still alive while waiting
EXIT_POLL_SECONDS = 0.05  # how soon the parent sees the child gone at the end: every run waits for that


class SharedFlag:
    """A stop flag both processes see, in shared memory with no lock: a child killed while looking at it can
    leave no lock held (a ``multiprocessing.Event`` would then hang whoever sets it)."""

    def __init__(self, context: Any) -> None:
        self._value = context.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)


class IngestionDiedError(RuntimeError):
    """The child doing the work exited without a word (killed, out of memory): what it stored is whole."""


def work(recipe: dict[str, Any], where: tuple[str, str, float], options: IngestOptions, inbox: Connection,
         channel: Any, stop: SharedFlag, parent: int) -> None:
    """The child: once its parent sends the run's token and plans, fetch and store them, telling the parent each batch;
    stop when asked or orphaned. A parent that closes the inbox first had nothing for it to do."""
    die_with(parent)
    try:
        token, plans = inbox.recv()
    except EOFError:
        return

    def watch_parent() -> None:
        while not stop.is_set():
            time.sleep(1.0)
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        processes = min(options.fetch_processes, options.workers - 1)
        context = multiprocessing.get_context("spawn")
        pools = [ProcessPool(context, recipe, token, options.spec, options.workers // (processes + 1))
                 for _ in range(processes)]
        with ReportApiClient(settings_from_recipe(recipe)) as client:
            client.tokens.adopt(token)
            for outcome in fetch_and_store(client, DataDir(Path(where[0]), *where[1:]), plans, options,
                                           lambda text: channel.put(("say", text)), stop, pools):
                channel.put(("batch", outcome))
    except BaseException as exc:
        channel.put(("error", sendable(exc)))
    else:
        channel.put(("done", None))


class IngestChild:
    """The child process that does a larger run's work, started before the run knows its plans: a fresh
    interpreter importing the project takes about a quarter of a second, which then passes while the run reads
    its ledgers, gets its token and plans (``prestart``). It writes nothing until it is sent the plans; unused, it
    is killed once the run turns out small, or as the block ends (the run failed before its plans)."""

    def __init__(self, settings: ApiSettings, data: DataDir, options: IngestOptions) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: forking a threaded process is unsafe
        self.channel = context.Queue()
        self.stop = SharedFlag(context)
        inbox, self._plans = context.Pipe(duplex=False)
        self.used = False
        self.data, self.source = data, options.source  # what it was started for; relay claims the data for it
        where = (str(data.root), data.lake_url, data.lake_retry_seconds)
        # Not a daemon: a daemon may have no children (its fetch processes). It is joined at the end, and dies with
        # this process.
        self.process = context.Process(target=work, name="report-assets-ingest", daemon=False, args=(
            settings_recipe(settings), where, options, inbox, self.channel, self.stop, os.getpid()))
        self.process.start()
        inbox.close()

    def __enter__(self) -> IngestChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def discard(self) -> None:
        """Kills it, unless it was sent its plans: until then it has written nothing."""
        if not self.used:
            self.process.kill()
            self.process.join()

    def relay(self, client: ReportApiClient, plans: list[DatePlan],
              say: Callable[[str], None]) -> Iterator[BatchOutcome]:
        """Sends the child the run's token and plans, then relays what it stored; this process only reports."""
        self.data.claim(self.source)
        # the run's one token: the child and its fetch processes use it too
        self._plans.send((client.tokens.share(), plans))
        self._plans.close()
        self.used = True
        child, channel = self.process, self.channel
        finished = False
        try:
            while True:
                try:
                    kind, value = channel.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    if not child.is_alive():
                        raise IngestionDiedError(
                            f"the ingestion process exited with code {child.exitcode} without finishing; every "
                            "ledger-day it stored is whole: re-run the same dates to fetch the rest") from None
                    continue
                if kind == "say":
                    say(value)
                elif kind == "error":
                    raise value
                elif kind == "done":
                    finished = True
                    return
                else:
                    yield value
        finally:  # done, or the caller stopped early (an error, a terminated run): fetch nothing more
            self.stop.set()
            # It finishes the dates it is writing; what it still says is read, not kept (a full pipe would block
            # it). Once done it says nothing more, and is joined at once.
            while not finished and child.is_alive():
                with contextlib.suppress(queue.Empty):
                    channel.get(timeout=EXIT_POLL_SECONDS)
            child.join()


def prestart(settings: ApiSettings, data: DataDir, options: IngestOptions, most_ledger_days: int | None,
             dates: int) -> AbstractContextManager[IngestChild | None]:
    """The child a run of at most ``most_ledger_days`` will want, started now (None: not known yet, as on a first
    run before its ledger list; then any run of more than one date starts it); else nothing."""
    larger = dates > 1 if most_ledger_days is None else most_ledger_days > options.in_process_up_to
    return IngestChild(settings, data, options) if larger else nullcontext()


def ingest(client: ReportApiClient, data: DataDir, plans: Iterable[DatePlan], options: IngestOptions,
           say: Callable[[str], None], child: IngestChild | None = None) -> Iterator[BatchOutcome]:
    """Fetches and stores every planned ledger-day, yielding each batch of dates once stored, so that the caller
    reports them as they land (see ``ingestion.fetch_and_store``). A run of more than
    ``options.in_process_up_to`` ledger-days does the work in a child process (``child``, if ``prestart`` started
    one); a small one (a merchant's hourly run) in this one, where the child's start would be most of its time and
    reporting a date or two takes little from the fetching."""
    plans = list(plans)
    if sum(len(plan.fetch) for plan in plans) <= options.in_process_up_to:
        if child is not None:
            child.discard()  # now: it would take a core's share from the work here
        batches = ingest_here(client, data, plans, options, say)
    elif child is not None:
        batches = child.relay(client, plans, say)
    else:
        batches = in_child(client, data, plans, options, say)
    for reported, batch in enumerate(batches, start=1):
        yield batch
        if reported == 1:  # the caller has reported the first batch
            options.hooks.reached("after-first-batch")


def in_child(client: ReportApiClient, data: DataDir, plans: list[DatePlan], options: IngestOptions,
             say: Callable[[str], None]) -> Iterator[BatchOutcome]:
    """The work in a child process started now; this one only relays what it stored."""
    with IngestChild(client.settings, data, options) as child:
        yield from child.relay(client, plans, say)


def ingest_here(client: ReportApiClient, data: DataDir, plans: Iterable[DatePlan], options: IngestOptions,
                say: Callable[[str], None]) -> Iterator[BatchOutcome]:
    """The work in the caller's process: the same work and outcomes as ``in_child``, without a child's start."""
    data.claim(options.source)
    yield from fetch_and_store(client, data, plans, options, say, threading.Event())  # never set
