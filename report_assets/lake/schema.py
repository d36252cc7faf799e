"""The ledger tables' columns, derived from the one entry definition in ``report_api.entry_schema``.

Arrow (Parquet) types, DuckDB DDL and the Dagster column schema all come from ``ledger_columns``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pyarrow as pa

from report_assets.report_api.entry_schema import ENTRY_FIELDS

ARROW_TYPES = {
    "string": pa.string(), "integer": pa.int64(), "date": pa.date32(), "timestamp": pa.timestamp("us", "UTC"),
    "int32": pa.int32(), "boolean": pa.bool_(), "strings": pa.list_(pa.string()),
}
DUCKDB_TYPES = {
    "string": "VARCHAR", "integer": "BIGINT", "date": "DATE", "timestamp": "TIMESTAMPTZ", "int32": "INTEGER",
    "boolean": "BOOLEAN", "strings": "VARCHAR[]",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    description: str
    nullable: bool = True
    api_name: str | None = None  # the entry field it comes from; None for columns this project adds
    gdpr: bool = False

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.kind]

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.kind]


TABLE_OF_TOPIC = {"funds": "funds_ledger", "fees": "fees_ledger"}  # the warehouse table of each topic

LEDGER_ID = Column("ledger_id", "string", "The ledger (settlement account) the entry belongs to.", nullable=False)
POSITION = Column("position", "int32",
                  "1-based position of the entry within its ledger-day, in the order the API returned it.",
                  nullable=False)
IS_OPEN = Column("is_open", "boolean",
                 "True if the ledger date was still open (more entries could land) when this was fetched.",
                 nullable=False)
FETCHED_AT = Column("fetched_at", "timestamp", "When this project fetched the ledger-day from the API (UTC).",
                    nullable=False)
SOURCE = Column("source", "string", "Where the data came from: 'production' or 'simulator'.", nullable=False)


TOPIC = Column("topic", "string", "The ledger the entry is on: 'funds' or 'fees'.", nullable=False)


def entry_columns(include_gdpr: bool) -> tuple[Column, ...]:
    """The fields of an API entry, as columns."""
    return tuple(
        Column(f.column, f.kind, f.description, f.nullable, f.api_name, f.gdpr)
        for f in ENTRY_FIELDS if include_gdpr or not f.gdpr
    )


@cache  # asked for every ledger-day fetched and page converted: 15 us each to build
def ledger_columns(include_gdpr: bool) -> tuple[Column, ...]:
    return (LEDGER_ID, *entry_columns(include_gdpr), POSITION, IS_OPEN, FETCHED_AT, SOURCE)


def intraday_columns() -> tuple[Column, ...]:
    """The feed's entries (``intraday_entries``): both topics in one table, without GDPR fields."""
    return (LEDGER_ID, TOPIC, *entry_columns(include_gdpr=False), POSITION, FETCHED_AT)


@cache  # 28 us each to build, for every ledger-day fetched
def arrow_schema(include_gdpr: bool) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in ledger_columns(include_gdpr)])


def column_definitions_sql(columns: tuple[Column, ...]) -> str:
    return ",\n    ".join(f"{c.name} {c.duckdb_type}{'' if c.nullable else ' NOT NULL'}" for c in columns)
