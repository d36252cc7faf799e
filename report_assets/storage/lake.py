"""The Parquet lake: one file per dataset and ledger date, holding every ledger of that date.

``data/lake/funds/ledger_date=2026-01-31/part-0.parquet`` is sorted by ledger (then position), so the
file count grows with dates, not ledgers, and a reader filtering one ledger skips the other row groups.
Replacing some ledgers of a date rewrites the date's file: the other ledgers' rows are carried over,
the whole is written to a temporary file and renamed over the old one, so a crash at any point leaves
the previous file whole. Two runs touching the same date are serialized by a lock on the date, so
neither loses the other's rows.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from report_assets.report_api.entry_schema import page_schema
from report_assets.storage.schema import entry_columns, ledger_columns

FILE_NAME = "part-0.parquet"
ROW_GROUP_ROWS = 128 * 1024  # sorted by ledger, so row-group statistics let a one-ledger reader skip
# Columns whose values repeat within a date's file get dictionary encoding; on the others (references,
# times, amounts, balances) a dictionary costs time and bytes for nothing: writing a date of W1's funds
# took 5.9 ms with a dictionary on every column, 3.6 ms with these only, and the file was a third smaller.
REPEATING_COLUMNS = frozenset({"ledger_id", "ledger_date", "entry_type", "currency", "recipient_handle", "is_open",
                               "fetched_at", "source", "is_final", "topic"})


@dataclass(frozen=True)
class Run:
    """Consecutive entries of one ledger-day, and what this project adds to each of them."""

    ledger_id: str
    is_open: bool
    first_position: int
    count: int


@dataclass(frozen=True)
class FetchStamp:
    fetched_at: datetime
    source: str


def page_batch(items: list[dict[str, Any]]) -> pa.RecordBatch:
    """API entries (validated dicts) in Arrow, converted in Arrow's C++ rather than in Python."""
    return pa.RecordBatch.from_pylist(items, schema=page_schema())


def entry_arrays(page: pa.RecordBatch, include_gdpr: bool) -> dict[str, pa.Array]:
    """A page's entries (``page_schema``) as typed columns: times and dates parsed."""
    return {c.name: page.column(c.api_name).cast(c.arrow_type) for c in entry_columns(include_gdpr)}


def entries_to_batch(page: pa.RecordBatch, runs: list[Run], stamp: FetchStamp, schema: pa.Schema,
                     include_gdpr: bool) -> pa.RecordBatch:
    """API entries (one page, or the small ledger-days of a whole date at once: one conversion instead of
    thousands) as a batch of the ledger table, with what this project adds to each entry."""
    entries = entry_arrays(page, include_gdpr)
    n = page.num_rows
    ledger_ids: list[str] = []
    is_open: list[bool] = []
    positions: list[int] = []
    for run in runs:
        ledger_ids += [run.ledger_id] * run.count
        is_open += [run.is_open] * run.count
        positions += range(run.first_position, run.first_position + run.count)
    constants: dict[str, pa.Array] = {
        "ledger_id": pa.array(ledger_ids, pa.string()),
        "position": pa.array(positions, pa.int32()),
        "is_open": pa.array(is_open, pa.bool_()),
        "fetched_at": pa.array([stamp.fetched_at] * n, pa.timestamp("us", "UTC")),
        "source": pa.array([stamp.source] * n, pa.string()),
    }
    arrays = [entries[c.name] if c.api_name is not None else constants[c.name] for c in ledger_columns(include_gdpr)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class ParquetLake:
    def __init__(self, root: Path) -> None:
        self.root = root

    def date_path(self, dataset: str, ledger_date: str) -> Path:
        return self.root / dataset / f"ledger_date={ledger_date}" / FILE_NAME

    def glob(self, dataset: str) -> str:
        return str(self.root / dataset / "ledger_date=*" / FILE_NAME)

    def table_path(self, name: str) -> Path:
        """A small dataset kept whole in one file, such as the ledger catalog."""
        return self.root / name / FILE_NAME

    def read_date(self, dataset: str, ledger_date: str, columns: list[str] | None = None) -> pa.Table | None:
        path = self.date_path(dataset, ledger_date)
        return pq.read_table(path, columns=columns) if path.exists() else None

    def replace_ledgers(self, dataset: str, ledger_date: str, ledger_ids: Iterable[str], rows: pa.Table,
                        sort_keys: tuple[str, ...]) -> pa.Table:
        """The date's file with the rows of ``ledger_ids`` replaced by ``rows`` (which may hold none of some
        of them: their old rows go), every other ledger's rows kept; returns what the file now holds."""
        final = self.date_path(dataset, ledger_date)
        with date_lock(self.root / ".locks" / f"{dataset}-{ledger_date}.lock"):
            replaced = pa.array(sorted(set(ledger_ids)), pa.string())
            parts = [rows]
            if final.exists():
                old = pq.read_table(final)
                parts.insert(0, old.filter(pc.invert(pc.is_in(old.column("ledger_id"), value_set=replaced))))
            merged = pa.concat_tables(parts, promote_options="permissive").combine_chunks()
            merged = merged.take(pc.sort_indices(merged, [(key, "ascending") for key in sort_keys]))
            write_atomically(final, merged.schema, merged.to_batches(max_chunksize=ROW_GROUP_ROWS))
        return merged


@contextmanager
def date_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on one date of a dataset, held while its file is read, merged and replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(final: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
    """Writes a Parquet file atomically (``replace_file``); returns the rows written."""
    rows = 0

    def write(temporary: Path) -> None:
        nonlocal rows
        dictionary = [name for name in schema.names if name in REPEATING_COLUMNS]
        with pq.ParquetWriter(temporary, schema, compression="zstd", use_dictionary=dictionary) as writer:
            for batch in batches:
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
                rows += batch.num_rows

    replace_file(final, write)
    return rows


def replace_file(final: Path, write: Callable[[Path], object]) -> None:
    """``write`` fills a temporary file beside ``final``, which is then renamed over it: a reader sees the old
    file or the new one, never part of one, and a crash or error leaves the old file whole."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
