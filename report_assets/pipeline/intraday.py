"""Intraday data from the feed endpoint: new entries as they land, continued from a persisted cursor.

Each feed page and the cursor after it are stored in one transaction, so a restart continues exactly
where the last stored page ended: nothing is lost and nothing is stored twice. ``today_so_far`` joins
these entries with the date-partitioned tables without counting any entry twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from report_assets.core.sql_files import sql_in
from report_assets.lake.parquet_lake import entry_arrays
from report_assets.lake.schema import TABLE_OF_TOPIC, column_definitions_sql, intraday_columns
from report_assets.report_api import ReportApiClient
from report_assets.report_api.entry_schema import page_batch
from report_assets.warehouse.database import registered, transaction

sql = sql_in(__file__)


def ensure_intraday_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(sql("create_intraday", columns=column_definitions_sql(intraday_columns())))


def saved_cursor(connection: duckdb.DuckDBPyConnection, ledger_id: str, topic: str) -> str | None:
    row = connection.execute("SELECT cursor FROM feed_cursors WHERE ledger_id = $l AND topic = $t",
                             {"l": ledger_id, "t": topic}).fetchone()
    return row[0] if row else None


def feed_page_table(ledger_id: str, topic: str, items: list[dict[str, Any]], fetched_at: datetime) -> pa.Table:
    """A feed page as insert_intraday.sql reads it: the entries typed as from the dates endpoint, and each
    one's index on the page (its position within its ledger-day is worked out in SQL)."""
    n = len(items)
    return pa.table({
        "ledger_id": pa.array([ledger_id] * n, pa.string()), "topic": pa.array([topic] * n, pa.string()),
        "page_index": pa.array(range(n), pa.int32()),
        **entry_arrays(page_batch(items), include_gdpr=False),
        "fetched_at": pa.array([fetched_at] * n, pa.timestamp("us", "UTC")),
    })


def poll_feed(client: ReportApiClient, connection: duckdb.DuckDBPyConnection, ledger_id: str, topic: str,
              max_pages: int | None = None) -> int:
    """Reads the feed from the saved cursor until it says tryLater (or ``max_pages``); returns entries stored."""
    ensure_intraday_tables(connection)
    stored = 0
    for number, page in enumerate(client.iter_feed(ledger_id, topic, saved_cursor(connection, ledger_id, topic)),
                                  start=1):
        with transaction(connection):
            if page.items:
                with registered(connection, "feed_page",
                                feed_page_table(ledger_id, topic, page.items, datetime.now(UTC))):
                    connection.execute(sql("insert_intraday"))
            connection.execute(sql("save_feed_cursor"), {"ledger_id": ledger_id, "topic": topic,
                                                         "cursor": page.cursor})
        stored += len(page.items)
        if max_pages is not None and number >= max_pages:
            break
    return stored


def today_so_far(connection: duckdb.DuckDBPyConnection, ledger_id: str, topic: str, ledger_date: str) -> list[tuple]:
    return connection.execute(sql("today_so_far", table=TABLE_OF_TOPIC[topic]), {
        "ledger_id": ledger_id, "ledger_date": ledger_date, "topic": topic}).fetchall()
