"""The Parquet lake: one file per ledger-day, hive layout, replaced atomically.

A ledger-day is streamed page by page into a temporary file in its own directory, which is then
renamed over the previous version: a crash at any point leaves the previous file whole.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from report_assets.storage.schema import entry_columns, ledger_columns

FILE_NAME = "part-0.parquet"


@dataclass(frozen=True)
class DayStamp:
    """What this project adds to every entry of a fetched ledger-day."""

    ledger_id: str
    is_open: bool
    fetched_at: datetime
    source: str


@cache
def api_schema(include_gdpr: bool) -> pa.Schema:
    """The entry fields as the API sends them: times and dates still text, parsed by Arrow afterwards."""
    return pa.schema([
        pa.field(c.api_name, pa.string() if c.kind in ("timestamp", "date") else c.arrow_type)
        for c in entry_columns(include_gdpr)
    ])


def entry_arrays(items: list[dict[str, Any]], include_gdpr: bool) -> dict[str, pa.Array]:
    """API entries (validated dicts) as typed Arrow arrays by column, converted in Arrow's C++ rather than in
    Python."""
    raw = pa.RecordBatch.from_pylist(items, schema=api_schema(include_gdpr))
    return {c.name: raw.column(c.api_name).cast(c.arrow_type) for c in entry_columns(include_gdpr)}


def page_to_batch(items: list[dict[str, Any]], stamp: DayStamp, first_position: int, schema: pa.Schema,
                  include_gdpr: bool) -> pa.RecordBatch:
    """A page of API entries as a batch of the ledger table, with what this project adds to each entry."""
    entries = entry_arrays(items, include_gdpr)
    n = len(items)
    constants: dict[str, pa.Array] = {
        "ledger_id": pa.array([stamp.ledger_id] * n, pa.string()),
        "position": pa.array(range(first_position, first_position + n), pa.int32()),
        "is_open": pa.array([stamp.is_open] * n, pa.bool_()),
        "fetched_at": pa.array([stamp.fetched_at] * n, pa.timestamp("us", "UTC")),
        "source": pa.array([stamp.source] * n, pa.string()),
    }
    arrays = [entries[c.name] if c.api_name is not None else constants[c.name] for c in ledger_columns(include_gdpr)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class ParquetLake:
    def __init__(self, root: Path) -> None:
        self.root = root

    def day_path(self, topic: str, ledger_id: str, ledger_date: str) -> Path:
        return self.root / topic / f"ledger_id={ledger_id}" / f"ledger_date={ledger_date}" / FILE_NAME

    def glob(self, topic: str) -> str:
        return str(self.root / topic / "ledger_id=*" / "ledger_date=*" / FILE_NAME)

    def write_day(self, topic: str, ledger_id: str, ledger_date: str, schema: pa.Schema,
                  batches: Iterable[pa.RecordBatch]) -> tuple[Path, int]:
        """Streams ``batches`` into the ledger-day's file, replacing it atomically; returns (path, rows)."""
        final = self.day_path(topic, ledger_id, ledger_date)
        return final, write_atomically(final, schema, batches)

    def table_path(self, name: str) -> Path:
        """A small dataset kept whole in one file, such as the ledger catalog."""
        return self.root / name / FILE_NAME


def write_atomically(final: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
    """Writes a temporary file beside ``final``, then renames it over: a crash leaves the old file whole."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{FILE_NAME}.{uuid.uuid4().hex}.tmp"
    rows = 0
    try:
        with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
            for batch in batches:
                writer.write_batch(batch)
                rows += batch.num_rows
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
    return rows
