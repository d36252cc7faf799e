"""What an event log's schema has, learnt once per process instead of asked at every event.

Dagster's SQL event logs ask the database about their own schema while writing: whether the asset check and event
tag tables exist (``has_table``, on SQLite a new engine and a new connection each time) and whether the asset key
table has its index columns (a ``PRAGMA table_info`` or catalog query), for every materialization and check
evaluation. In a run's process that was an eighth of the time spent storing events. A table or column that exists
stays: Dagster's migrations only add them, and ``wipe`` keeps the schema. So a yes is kept for the life of the
storage; a no is asked again, as Dagster does, so that a migration run meanwhile is seen.
"""

from __future__ import annotations

from typing import Any

from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage


class SchemaFactsKept(SqlEventLogStorage):
    """Mixed in before a Dagster SQL event log storage class."""

    _tables_seen: set[str]
    _asset_key_columns_seen: set[str]

    def has_table(self, table_name: str) -> bool:
        # Made on first use: Dagster's constructors ask before anything of this class could set them up.
        seen = self.__dict__.setdefault("_tables_seen", set())
        if table_name not in seen and super().has_table(table_name):
            seen.add(table_name)
        return table_name in seen

    def _has_asset_key_col_on_connection(self, conn: Any, column_name: str) -> bool:
        seen = self.__dict__.setdefault("_asset_key_columns_seen", set())
        if column_name not in seen and super()._has_asset_key_col_on_connection(conn, column_name):
            seen.add(column_name)
        return column_name in seen
