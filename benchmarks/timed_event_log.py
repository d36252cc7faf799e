"""Event log storages that count the events a process writes and the time it spends writing them.

The benchmark names one of these in its instance's ``dagster.yaml`` (the project's SQLite or PostgreSQL storage,
or Dagster's own of either), so that a measured run says how many events it wrote and what they cost, beside its wall
time. When the process ends, the storage appends one JSON line ``{"events": n, "batches": b, "seconds": s}`` to the
file ``BENCH_EVENT_TIMES`` names.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import pg_url_from_config

from report_assets.defs.event_log import KeptConnectionSqliteEventLogStorage
from report_assets.defs.postgres_event_log import KeptConnectionPostgresEventLogStorage

TIMES_FILE = "BENCH_EVENT_TIMES"


class EventTimes:
    """What one process wrote; written to ``BENCH_EVENT_TIMES`` once, at exit."""

    def __init__(self) -> None:
        self.events = self.batches = 0
        self.seconds = 0.0
        self.lock = threading.Lock()
        atexit.register(self.write)

    def add(self, events: int, seconds: float) -> None:
        with self.lock:
            self.events += events
            self.batches += 1
            self.seconds += seconds

    def write(self) -> None:
        target = os.environ.get(TIMES_FILE)
        if target and self.batches:
            with open(target, "a") as out:
                out.write(json.dumps({"pid": os.getpid(), "events": self.events, "batches": self.batches,
                                      "seconds": self.seconds}) + "\n")


TIMES = EventTimes()


class Timed:
    """Mixed into a storage: times every write."""

    def store_event(self, event: EventLogEntry) -> None:
        started = time.perf_counter()
        super().store_event(event)  # type: ignore[misc]
        TIMES.add(1, time.perf_counter() - started)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        started = time.perf_counter()
        before = TIMES.events
        super().store_event_batch(events)  # type: ignore[misc]
        if TIMES.events == before:  # the storage wrote the batch itself, not event by event
            TIMES.add(len(events), time.perf_counter() - started)


class TimedKeptConnectionSqliteEventLogStorage(Timed, KeptConnectionSqliteEventLogStorage):
    pass


class TimedSqliteEventLogStorage(Timed, SqliteEventLogStorage):
    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> TimedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)


class TimedKeptConnectionPostgresEventLogStorage(Timed, KeptConnectionPostgresEventLogStorage):
    pass


class TimedPostgresEventLogStorage(Timed, PostgresEventLogStorage):
    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> TimedPostgresEventLogStorage:
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True))
