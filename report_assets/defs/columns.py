"""The tables' columns as the Dagster UI shows them, from the one definition of each table's columns."""

from __future__ import annotations

import dagster as dg

from report_assets.lake.schema import Column, ledger_columns
from report_assets.lake.summary_columns import COLUMNS, column_type


def table_schema_of(columns: tuple[Column, ...]) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.duckdb_type, description=c.description,
                       constraints=dg.TableColumnConstraints(nullable=c.nullable))
        for c in columns
    ])


def ledger_table_schema(include_gdpr: bool) -> dg.TableSchema:
    return table_schema_of(ledger_columns(include_gdpr))


def summary_table_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, column_type(name), description=text)
                                   for name, text in COLUMNS[table].items()])
