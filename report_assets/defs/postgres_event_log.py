"""The project's event log on PostgreSQL: dagster-postgres's own, with its connection kept between writes.

dagster-postgres opens a new server connection for every write (``NullPool``, so that an instance holds no
connection while idle) except in the webserver, and a ledger date writes six materializations and up to twenty
check evaluations, each two or three writes. ``benchmarks/bench_backfill.py W1 --instance postgres`` measured
22.16 ms an event that way, the event log setting the pace of a year's backfill (211.7 s of its 241.6 s). This
storage keeps one connection per process (more only while several threads write at once), checked before each
use, so a server restarted meanwhile costs a reconnect, not a failed write. Tables, statements and transactions
are dagster-postgres's; what is written, and when it is committed, is unchanged.

``deploy/dagster.yaml`` names it under ``event_log_storage``. It needs dagster-postgres (``pip install
'.[postgres]'``), which the SQLite instance does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as db
from dagster._config import UserConfigSchema
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.event_log.event_log import CHANNEL_NAME
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_config, pg_url_from_config

from report_assets.defs.event_log_checks import INSERT_EVENT, CheckEventsAtOnce
from report_assets.defs.event_log_schema import SchemaFactsKept

KEPT_CONNECTIONS = 1  # a run writes its events from one thread
OVERFLOW = 8  # threads writing at once beyond it get a connection of their own, closed after use
RECYCLE_SECONDS = 3600
INSERT_EVENT_RETURNING_ID = INSERT_EVENT.returning(SqlEventLogStorageTable.c.id)
NOTIFY = db.text(f"NOTIFY {CHANNEL_NAME}, :notify_id")  # as dagster-postgres says every event


class KeptConnectionPostgresEventLogStorage(CheckEventsAtOnce, SchemaFactsKept, PostgresEventLogStorage):
    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data: Any = None,
                 token_provider: Any = None) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        options = self._engine.url.query.get("options")
        self._engine.dispose()
        self._engine = create_pg_engine(
            self.postgres_url, self._token_provider, isolation_level="AUTOCOMMIT", pool_size=KEPT_CONNECTIONS,
            max_overflow=OVERFLOW, pool_pre_ping=True, pool_recycle=RECYCLE_SECONDS,
            **({"connect_args": {"options": options}} if options else {}))

    def write_check_evaluation(self, event: EventLogEntry, row: dict[str, Any]) -> None:
        """Its row, the notification and the check's row in one transaction, where dagster-postgres takes three."""
        with self.index_transaction() as connection:
            event_id = connection.execute(INSERT_EVENT_RETURNING_ID, row).scalar_one()
            connection.execute(NOTIFY, {"notify_id": f"{event.run_id}_{event_id}"})
            self.record_check_evaluation(connection, event, event_id, row["event"])

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return pg_config()

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]
                          ) -> KeptConnectionPostgresEventLogStorage:
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   token_provider=get_token_provider_from_config(config_value))
