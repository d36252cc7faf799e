"""The ledger-day status in the lake: for machines that share a lake in an object store, each with a data
directory of its own (run pods with scratch disks), what is stored closed must be known to all of them, or
every run fetches again what another stored, and the schedule on the daemon's machine sees nothing stored.

One small file per ledger date (``ledger_day_state/ledger_date=…``) holds the rows that ``status.py`` keeps
in SQLite, with the same rules: each change loads the date's rows into an in-memory SQLite, applies the same
SQL files and writes the result back with a conditional PUT (so two machines recording the same date merge,
as the date files do). It is written after the warehouse commits, as the SQLite file is.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import datetime

import pyarrow as pa

from report_assets.core.ledger_day import LedgerDay
from report_assets.core.sql_files import sql_in
from report_assets.lake.parquet_lake import ParquetLake, key_date
from report_assets.lake.status import DayState, record_failed, record_stored, states_between

sql = sql_in(__file__)

STATUS_DATASET = "ledger_day_state"
STATE_SCHEMA = pa.schema([("ledger_id", pa.string()), ("ledger_date", pa.string()), ("topic", pa.string()),
                          ("stored", pa.string()), ("entries", pa.int64()), ("fetched_at", pa.string()),
                          ("error", pa.string()), ("failed_at", pa.string())])
READERS = 8  # dates read at once: a year's backfill plans from 365 small objects


@contextmanager
def in_memory(rows: pa.Table | None) -> Iterator[sqlite3.Connection]:
    """``ledger_day_state`` in an in-memory SQLite, holding ``rows``."""
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(sql("status/create"))
        if rows is not None and rows.num_rows:
            connection.executemany(f"INSERT INTO ledger_day_state VALUES ({', '.join('?' * len(STATE_SCHEMA))})",
                                   zip(*(rows.column(name).to_pylist() for name in STATE_SCHEMA.names), strict=True))
        yield connection


def as_table(connection: sqlite3.Connection) -> pa.Table:
    rows = connection.execute(f"SELECT {', '.join(STATE_SCHEMA.names)} FROM ledger_day_state "
                              "ORDER BY ledger_id, topic").fetchall()
    return pa.Table.from_pylist([dict(zip(STATE_SCHEMA.names, row, strict=True)) for row in rows], schema=STATE_SCHEMA)


class LakeDayStatus:
    def __init__(self, lake: ParquetLake) -> None:
        self.lake = lake

    def change(self, ledger_date: str, apply: Callable[[sqlite3.Connection], None]) -> None:
        def changed(old: pa.Table | None) -> pa.Table:
            with in_memory(old) as connection:
                apply(connection)
                return as_table(connection)

        self.lake.store.update(ParquetLake.date_key(STATUS_DATASET, ledger_date), changed)

    def record_stored(self, rows: Iterable[tuple[LedgerDay, str, bool, int]], fetched_at: datetime) -> None:
        for ledger_date, of_date in by_date(rows).items():
            self.change(ledger_date, lambda connection, of_date=of_date: record_stored(connection, of_date, fetched_at))

    def record_failed(self, rows: Iterable[tuple[LedgerDay, str, str]]) -> None:
        for ledger_date, of_date in by_date(rows).items():
            self.change(ledger_date, lambda connection, of_date=of_date: record_failed(connection, of_date))

    def states(self, first: str, last: str) -> dict[LedgerDay, DayState]:
        keys = [key for key in self.lake.date_keys(STATUS_DATASET) if first <= key_date(key) <= last]
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            tables = [t for t in pool.map(self.lake.store.read, keys) if t is not None]
        if not tables:
            return {}
        with in_memory(pa.concat_tables(tables)) as connection:
            return states_between(connection, first, last)


def by_date(rows: Iterable[tuple]) -> dict[str, list[tuple]]:
    """Status rows (each led by its ledger-day) grouped by ledger date: one file, one conditional PUT, each."""
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        grouped[row[0].ledger_date].append(row)
    return dict(sorted(grouped.items()))
