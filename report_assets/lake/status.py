"""Which ledger-days are stored closed, stored open, or failed: a small SQLite file beside the warehouse.

The schedule and every run ask it what is due. It must be readable while a run holds the DuckDB
warehouse (whose single writer blocks even read-only opens), so it lives apart, in SQLite, whose
write-ahead log lets readers in while a writer commits. It is written after the warehouse commits: a
crash in between leaves a ledger-day looking unfetched, and the next run fetches it again, which is safe.
When the lake is in an object store, which machines share, the same rows and rules live there instead
(``lake_status``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from report_assets.core.ledger_day import LedgerDay
from report_assets.core.sql_files import sql_in

sql = sql_in(__file__)


@dataclass(frozen=True)
class DayState:
    stored: str | None  # 'closed', 'open', or None when not stored (never fetched, or failed before)
    error: str | None  # the last attempt's error, if it failed
    fetched_at: str | None = None  # when it was last stored (ISO 8601, UTC)


class LedgerDayStatus:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(sql("status/create"))
            with connection:
                yield connection
        finally:
            connection.close()

    def record_stored(self, rows: Iterable[tuple[LedgerDay, str, bool, int]], fetched_at: datetime) -> None:
        """Each (ledger-day, topic, is_open, entries) stored in both stores."""
        with self.connect() as connection:
            record_stored(connection, rows, fetched_at)

    def record_failed(self, rows: Iterable[tuple[LedgerDay, str, str]]) -> None:
        """Each (ledger-day, topic, error) that a run could not store."""
        with self.connect() as connection:
            record_failed(connection, rows)

    def states(self, first: str, last: str) -> dict[LedgerDay, DayState]:
        """Every ledger-day of the dates ``first`` to ``last`` that a run has tried."""
        if not self.path.exists():
            return {}
        with self.connect() as connection:
            return states_between(connection, first, last)


class DayStatus(Protocol):
    """Where the status is kept: this SQLite file, or the lake when machines share one (``lake_status``)."""

    def record_stored(self, rows: Iterable[tuple[LedgerDay, str, bool, int]], fetched_at: datetime) -> None: ...

    def record_failed(self, rows: Iterable[tuple[LedgerDay, str, str]]) -> None: ...

    def states(self, first: str, last: str) -> dict[LedgerDay, DayState]: ...


# The rules, on any SQLite connection holding ``ledger_day_state`` (the file above, or a date's copy in memory):

def record_stored(connection: sqlite3.Connection, rows: Iterable[tuple[LedgerDay, str, bool, int]],
                  fetched_at: datetime) -> None:
    connection.executemany(sql("status/record_stored"), [
        (day.ledger_id, day.ledger_date, topic, "open" if is_open else "closed", entries,
         fetched_at.isoformat()) for day, topic, is_open, entries in rows])


def record_failed(connection: sqlite3.Connection, rows: Iterable[tuple[LedgerDay, str, str]]) -> None:
    now = datetime.now(UTC).isoformat()
    connection.executemany(sql("status/record_failed"), [
        (day.ledger_id, day.ledger_date, topic, error[:2000], now) for day, topic, error in rows])


def states_between(connection: sqlite3.Connection, first: str, last: str) -> dict[LedgerDay, DayState]:
    rows = connection.execute(sql("status/states_between"), (first, last)).fetchall()
    return {LedgerDay(row[1], row[0]): DayState(row[2], row[3], row[4]) for row in rows}
