"""The Parquet lake: one file per dataset and ledger date, holding every ledger of that date.

``data/lake/funds/ledger_date=2026-01-31/part-0.parquet`` is sorted by ledger (then position), so the
file count grows with dates, not ledgers, and a reader filtering one ledger skips the other row groups.
Replacing some ledgers of a date rewrites the date's file: the other ledgers' rows are carried over and
the whole replaces the old file at once, so a crash at any point leaves the previous file whole, and two
runs touching the same date never lose each other's rows (``lake_store`` says how, on disk and in an
object store).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from report_assets.lake.schema import entry_columns, ledger_columns
from report_assets.lake.store import LakeStore, LakeStoreError, LocalStore

FILE_NAME = "part-0.parquet"


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


def entry_arrays(page: pa.RecordBatch, include_gdpr: bool) -> dict[str, pa.Array]:
    """A page's entries (``page_schema``) as typed columns: times and dates parsed."""
    return {c.name: page.column(c.api_name).cast(c.arrow_type) for c in entry_columns(include_gdpr)}


def entries_to_batch(page: pa.RecordBatch, runs: list[Run], stamp: FetchStamp, schema: pa.Schema,
                     include_gdpr: bool) -> pa.RecordBatch:
    """API entries (one page, or the small ledger-days of a whole date at once: one conversion instead of
    thousands) as a batch of the ledger table, with what this project adds to each entry."""
    entries = entry_arrays(page, include_gdpr)
    n = page.num_rows

    def per_run(value: Any, kind: pa.DataType) -> pa.Array:  # built in Arrow: a page's rows cost nothing each
        return pa.concat_arrays([pa.repeat(pa.scalar(value(run), kind), run.count) for run in runs])

    constants: dict[str, pa.Array] = {
        "ledger_id": per_run(lambda run: run.ledger_id, pa.string()),
        "position": pa.array([p for run in runs for p in range(run.first_position, run.first_position + run.count)],
                             pa.int32()),
        "is_open": per_run(lambda run: run.is_open, pa.bool_()),
        "fetched_at": pa.repeat(pa.scalar(stamp.fetched_at, pa.timestamp("us", "UTC")), n),
        "source": pa.repeat(pa.scalar(stamp.source, pa.string()), n),
    }
    arrays = [entries[c.name] if c.api_name is not None else constants[c.name] for c in ledger_columns(include_gdpr)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def key_date(key: str) -> str:
    """The ledger date of a date file's key (``funds/ledger_date=2026-11-18/part-0.parquet``)."""
    return key.split("ledger_date=", 1)[1].split("/", 1)[0]


class ParquetLake:
    """The lake's files by name, wherever the store keeps them (``lake_store``)."""

    def __init__(self, store: LakeStore) -> None:
        self.store = store

    @property
    def location(self) -> str:
        return self.store.location

    @property
    def is_local(self) -> bool:
        """On this machine's disk, where DuckDB reads the files itself (it has no object-store reader here)."""
        return isinstance(self.store, LocalStore)

    @staticmethod
    def date_key(dataset: str, ledger_date: str) -> str:
        return f"{dataset}/ledger_date={ledger_date}/{FILE_NAME}"

    @staticmethod
    def table_key(name: str) -> str:
        """A small dataset kept whole in one file, such as the ledger catalog."""
        return f"{name}/{FILE_NAME}"

    def date_uri(self, dataset: str, ledger_date: str) -> str:
        return self.store.uri(self.date_key(dataset, ledger_date))

    def table_uri(self, name: str) -> str:
        return self.store.uri(self.table_key(name))

    def glob(self, dataset: str) -> str:
        return self.store.uri(f"{dataset}/ledger_date=*/{FILE_NAME}")

    def read_date(self, dataset: str, ledger_date: str, columns: list[str] | None = None) -> pa.Table | None:
        return self.store.read(self.date_key(dataset, ledger_date), columns)

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table | None:
        return self.store.read(self.table_key(name), columns)

    def write_table(self, name: str, rows: pa.Table) -> None:
        self.store.write(self.table_key(name), rows)

    def has_table(self, name: str) -> bool:
        return bool(self.store.keys(self.table_key(name)))

    def columns_of(self, dataset: str) -> set[str]:
        """The columns of the dataset's newest file (a whole-table dataset's only file)."""
        keys = self.date_keys(dataset) or self.store.keys(self.table_key(dataset))
        newest = self.store.read(keys[-1]) if keys else None
        return set(newest.column_names) if newest is not None else set()

    def date_keys(self, dataset: str, date_prefix: str = "") -> list[str]:
        """The files of ``dataset`` whose ledger date starts with ``date_prefix`` (e.g. a month, ``2026-10-``)."""
        return self.store.keys(f"{dataset}/ledger_date={date_prefix}")

    def replace_ledgers(self, dataset: str, ledger_date: str, ledger_ids: Iterable[str], rows: pa.Table,
                        sort_keys: tuple[str, ...]) -> pa.Table:
        """The date's file with the rows of ``ledger_ids`` replaced by ``rows`` (which may hold none of some
        of them: their old rows go), every other ledger's rows kept; returns what the file now holds."""
        replaced = pa.array(sorted(set(ledger_ids)), pa.string())

        def merge(old: pa.Table | None) -> pa.Table:
            parts = [rows]
            if old is not None:
                parts.insert(0, old.filter(pc.invert(pc.is_in(old.column("ledger_id"), value_set=replaced))))
            merged = pa.concat_tables(parts, promote_options="permissive").combine_chunks()
            return merged.take(pc.sort_indices(merged, [(key, "ascending") for key in sort_keys]))

        try:
            return self.store.update(self.date_key(dataset, ledger_date), merge)
        except LakeStoreError as exc:
            raise LakeStoreError(f"{dataset} of ledger date {ledger_date} was not stored: {exc}. The lake keeps "
                                 "that date's previous file; re-run the date once the store takes writes.") from None
