"""The DuckDB warehouse: ledger tables whose ledger-days are replaced whole, never partly.

Each write batch replaces its ledger-days in one transaction. DuckDB lets one process write a
database file at a time, and a process holding it open blocks every
other open. Writers therefore hold a connection only while writing and, when the file is locked by
another run or an analyst's session, wait and retry with a log line saying so. Analysts who want no
part in that use the lake views database (``lake_views.duckdb``), which reads the Parquet files and
holds no lock on the warehouse.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from report_assets.core.sql_files import quote_literal, sql_in
from report_assets.lake.ledger_catalog import CATALOG_NAME
from report_assets.lake.parquet_lake import ParquetLake
from report_assets.lake.schema import column_definitions_sql, ledger_columns

sql = sql_in(__file__)

log = logging.getLogger(__name__)
WRITER_MEMORY_LIMIT = "384MB"
WRITER_CONFIG = {"memory_limit": WRITER_MEMORY_LIMIT}
# DuckDB's threads for a bulk insert and for the checkpoint as its connection closes. On more threads both cost more
# CPU and take no less time: W1's rows (2.0 M entries in batches of 28 dates) inserted at 0.85 s of CPU a million
# entries on one thread against 1.29 on two (wall 0.87 against 1.02), checkpointed at 0.50 against 0.67 (wall 0.51
# against 0.68). Queries gain from every core (``all_threads``): the checks took 0.47 s/M of wall on two, 0.76 on one.
BULK_THREADS = 1


class WarehouseLockedError(RuntimeError):
    """The warehouse stayed locked by another process for longer than we were willing to wait."""


def is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


def lock_holder(exc: duckdb.IOException) -> str:
    """`` (PID 123: python -m report_assets.main_job)`` when DuckDB's message names the holder and this machine can
    tell what it is; else nothing."""
    match = re.search(r"PID (\d+)", str(exc))
    if not match:
        return ""
    try:
        command = Path(f"/proc/{match.group(1)}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        command = ""
    return f" (PID {match.group(1)}{': ' + command[:120] if command else ''})"


@contextmanager
def open_for_write(
    path: Path,
    max_wait_seconds: float = 1800.0,
    say: Callable[[str], None] = log.warning,
    bulk: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection, waiting (with backoff) while another process holds the file. A ``bulk`` one inserts
    and checkpoints on ``BULK_THREADS``; its queries ask for every core with ``all_threads``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    delay = 0.2
    attempt = 0
    said_at = 0.0
    while True:
        attempt += 1
        try:
            # Bounded, so that a year's backfill stays within the run's memory budget (DuckDB spills to disk).
            connection = duckdb.connect(str(path), config=WRITER_CONFIG | ({"threads": BULK_THREADS} if bulk else {}))
            break
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise
            waited = time.monotonic() - started
            if waited + delay > max_wait_seconds:
                raise WarehouseLockedError(
                    f"{path} stayed locked by another process for {waited:.0f} s ({exc}). Close any DuckDB "
                    "session that has the warehouse open (analysts can query lake_views.duckdb instead), "
                    "then re-run: nothing was written."
                ) from None
            if attempt == 1 or waited >= said_at + 30:  # at once, then every half minute: not a line per attempt
                said_at = waited
                say(f"{path.name} is open in another process{lock_holder(exc)}; waiting for it (up to "
                    f"{max_wait_seconds:.0f} s). Analysts: query lake_views.duckdb to leave the warehouse free.")
            time.sleep(delay)
            delay = min(10.0, delay * 2) * (0.75 + random.random() / 2)
    try:
        yield connection
    finally:
        connection.close()


def ensure_ledger_table(connection: duckdb.DuckDBPyConnection, table: str, include_gdpr: bool) -> None:
    """Creates the table, or adds the columns it lacks (e.g. GDPR columns switched on later), with their
    comments; a table already complete is left alone (this runs for every batch)."""
    existing = {row[0] for row in connection.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = $table", {"table": table}).fetchall()}
    columns = ledger_columns(include_gdpr)
    if not existing:
        connection.execute(sql("create_ledger_table", table=table, columns=column_definitions_sql(columns)))
    missing = [c for c in columns if c.name not in existing]
    for column in missing:
        if existing:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column.name} {column.duckdb_type}")
        connection.execute(f"COMMENT ON COLUMN {table}.{column.name} IS {quote_literal(column.description)}")


def comment_columns(connection: duckdb.DuckDBPyConnection, table: str, comments: dict[str, str]) -> None:
    """Gives the table's columns these comments, writing only those that differ: each COMMENT is a catalog change
    of its own (75 of them took 56 ms, and this runs for every batch)."""
    have = dict(connection.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = $table",
                                   {"table": table}).fetchall())
    for column, text in comments.items():
        if have.get(column) != text:
            connection.execute(f"COMMENT ON COLUMN {table}.{column} IS {quote_literal(text)}")


@contextmanager
def registered(connection: duckdb.DuckDBPyConnection, name: str, relation: pa.Table) -> Iterator[None]:
    """An Arrow table visible to SQL as ``name`` for the duration of the block."""
    connection.register(name, relation)
    try:
        yield
    finally:
        connection.unregister(name)


def slice_keys(keys: list[tuple[str, str]]) -> pa.Table:
    """The ledger-days (ledger_id, ledger_date) that SQL files read as ``slice_keys``."""
    return pa.table({"ledger_id": [k[0] for k in keys],
                     "ledger_date": pa.array([k[1] for k in keys]).cast(pa.date32())})


@contextmanager
def all_threads(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Every core for the block's queries, on a connection opened for bulk writes."""
    connection.execute("RESET threads")
    try:
        yield
    finally:
        connection.execute(f"SET threads = {BULK_THREADS}")


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def replace_slices(connection: duckdb.DuckDBPyConnection, table: str, keys: list[tuple[str, str]],
                   rows: pa.Table) -> None:
    """Replaces ledger-days (ledger_id, ledger_date) with ``rows``. Run it inside the transaction that also
    records them in ``ledger_day_status``: each ledger-day is then either wholly the old version or wholly
    the new one, never a mix or a duplicate, and a ledger-day not in the status table has no rows to delete."""
    with registered(connection, "slice_keys", slice_keys(keys)), registered(connection, "slice_rows", rows):
        if connection.execute(sql("count_stored_slices")).fetchone()[0]:  # a first backfill has nothing to delete
            connection.execute(sql("delete_slices", table=table))
        connection.execute(sql("insert_slices", table=table))


def ensure_status_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(sql("create_ledger_day_status"))


def record_status(connection: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Which ledger-days were fetched, open or closed, with how many entries."""
    columns = ["ledger_id", "ledger_date", "topic", "is_open", "entries", "fetched_at", "source"]
    status = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    status = status.set_column(1, "ledger_date", status.column("ledger_date").cast(pa.date32()))
    with registered(connection, "status_rows", status):
        connection.execute(sql("upsert_ledger_day_status"))


def catalog_view(connection: duckdb.DuckDBPyConnection, lake: ParquetLake) -> None:
    """``ledgers`` in the warehouse: a view over the catalog's file in a local lake; a copy of it when the lake is in
    an object store, which the warehouse's DuckDB does not read itself (its httpfs extension is not at hand)."""
    if lake.is_local:
        if lake.has_table(CATALOG_NAME):
            connection.execute(sql("lake_view", table="ledgers", glob=quote_literal(lake.table_uri(CATALOG_NAME)),
                                   major_columns=""))
        return
    catalog = lake.read_table(CATALOG_NAME)
    if catalog is not None:
        if connection.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'ledgers'").fetchall()[0][0]:
            connection.execute("DROP VIEW ledgers")  # the lake was local before
        with registered(connection, "catalog_rows", catalog):
            connection.execute("CREATE OR REPLACE TABLE ledgers AS SELECT * FROM catalog_rows")
