"""The lake views database (``lake_views.duckdb``): the warehouse's tables as views over the Parquet lake.

It is for analysts: it holds no data and no lock a run needs (runs never open it), and its views read the
lake's files through globs, so dates stored later show up by themselves. Each view carries the column
comments of its table, and every money column also in major units as ``<column>_major``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from report_assets.core.money import major_units_sql
from report_assets.core.sql_files import quote_literal, sql_in
from report_assets.lake.schema import TABLE_OF_TOPIC, ledger_columns
from report_assets.lake.summary_columns import COLUMNS, money_columns

sql = sql_in(__file__)

LEDGER_MONEY = ("amount", "balance_before", "balance_after")
MAJOR_UNITS_SQL = major_units_sql("{column}")  # minor units to major, by the row's currency
MAJOR_UNITS = "{column} in major units of the row's currency (kroner, euros)."


def view_columns(table: str) -> tuple[list[str], dict[str, str]]:
    """A table's money columns, and the comment of each of its columns."""
    if table in COLUMNS:
        return money_columns(table), dict(COLUMNS[table])
    return list(LEDGER_MONEY), {c.name: c.description for c in ledger_columns(include_gdpr=True)}


def view_sql(table: str, glob: str) -> str:
    money = view_columns(table)[0] if is_documented(table) else []
    majors = "".join(f", {MAJOR_UNITS_SQL.format(column=c)} AS {c}_major" for c in money)
    return sql("lake_view", table=table, glob=quote_literal(glob), major_columns=majors)


def comment_sql(table: str, present: set[str]) -> list[str]:
    """The comments of the view's columns that ``present`` holds (a column added later is not in old files)."""
    money, comments = view_columns(table) if is_documented(table) else ([], {})
    comments = comments | {f"{c}_major": MAJOR_UNITS.format(column=c) for c in money}
    return [f"COMMENT ON COLUMN {table}.{column} IS {quote_literal(text)};"
            for column, text in comments.items() if column in present or column.removesuffix("_major") in present]


def is_documented(table: str) -> bool:
    return table in (*TABLE_OF_TOPIC.values(), *COLUMNS)


def write_lake_views(views_path: Path, globs: dict[str, str]) -> None:
    """Creates or replaces the views over ``globs`` (table -> Parquet glob); raises ``duckdb.IOException``
    while a session holds the file, which then keeps its views (they find new files by themselves)."""
    views_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(views_path)) as connection:
        for table, glob in globs.items():
            connection.execute(view_sql(table, glob))
            present = {row[0] for row in connection.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = $table", {"table": table}).fetchall()}
            for statement in comment_sql(table, present):
                connection.execute(statement)


def write_lake_views_script(script_path: Path, location: str, globs: dict[str, str], columns: dict[str, set[str]],
                            env: Mapping[str, str]) -> None:
    """The same views, as a SQL script for a lake in an object store: DuckDB reads ``s3://`` through its httpfs
    extension, which an analyst's DuckDB installs by itself but this machine's cannot, so the views are not
    built here. The script's secret takes the keys from the analyst's own environment (``credential_chain``):
    it holds the endpoint and region, never a key."""
    endpoint = urlsplit(env.get("AWS_ENDPOINT_URL", "").strip())
    options = ["TYPE s3", "PROVIDER credential_chain"]
    if env.get("AWS_REGION"):
        options.append(f"REGION {quote_literal(env['AWS_REGION'])}")
    if endpoint.netloc:
        options += [f"ENDPOINT {quote_literal(endpoint.netloc)}", "URL_STYLE 'path'",
                    f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}"]
    lines = [f"-- The lake views over {location}.",
             "-- Run it in DuckDB with the lake's AWS_* keys in the environment, e.g.",
             f"--   duckdb lake_views.duckdb -c \".read {script_path}\"",
             "INSTALL httpfs;", "LOAD httpfs;",
             f"CREATE OR REPLACE SECRET report_assets_lake ({', '.join(options)});"]
    for table, glob in globs.items():
        lines += [view_sql(table, glob).strip().rstrip(";") + ";", *comment_sql(table, columns.get(table, set()))]
    script_path.parent.mkdir(parents=True, exist_ok=True)
    script_path.write_text("\n".join(lines) + "\n")
