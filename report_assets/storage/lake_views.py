"""The lake views database (``lake_views.duckdb``): the warehouse's tables as views over the Parquet lake.

It is for analysts: it holds no data and no lock a run needs (runs never open it), and its views read the
lake's files through globs, so dates stored later show up by themselves. Each view carries the column
comments of its table, and every money column also in major units as ``<column>_major``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from report_assets.storage.schema import TABLE_OF_TOPIC, ledger_columns
from report_assets.storage.sql_files import quote_literal, sql
from report_assets.storage.summary_columns import COLUMNS, money_columns

LEDGER_MONEY = ("amount", "balance_before", "balance_after")
MAJOR_UNITS_SQL = "CAST({column} / 100 AS DECIMAL(18, 2))"  # minor units to major: NOK, DKK and EUR have two
MAJOR_UNITS = "{column} in major units (kroner, euros: the Report API's currencies all have two decimals)."


def view_columns(table: str) -> tuple[list[str], dict[str, str]]:
    """A table's money columns, and the comment of each of its columns."""
    if table in COLUMNS:
        return money_columns(table), dict(COLUMNS[table])
    return list(LEDGER_MONEY), {c.name: c.description for c in ledger_columns(include_gdpr=True)}


def write_lake_views(views_path: Path, globs: dict[str, str]) -> None:
    """Creates or replaces the views over ``globs`` (table -> Parquet glob); raises ``duckdb.IOException``
    while a session holds the file, which then keeps its views (they find new files by themselves)."""
    views_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(views_path)) as connection:
        for table, glob in globs.items():
            money, comments = view_columns(table) if table in (*TABLE_OF_TOPIC.values(), *COLUMNS) else ([], {})
            majors = "".join(f", {MAJOR_UNITS_SQL.format(column=c)} AS {c}_major" for c in money)
            connection.execute(sql("lake_view", table=table, glob=quote_literal(glob), major_columns=majors))
            present = {row[0] for row in connection.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = $table", {"table": table}).fetchall()}
            comments |= {f"{c}_major": MAJOR_UNITS.format(column=c) for c in money}
            for column, text in comments.items():
                if column in present:
                    connection.execute(f"COMMENT ON COLUMN {table}.{column} IS {quote_literal(text)}")
