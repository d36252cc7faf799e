"""The project's SQLite event log: Dagster's own, with each file's connection kept open between writes.

Dagster's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine and opens a new SQLite connection for every
write (two for an asset event: the run's file and the index), and a ledger date writes six materializations and
up to twenty check evaluations. Keeping the connections is what lifts that cost: ``benchmarks/bench_event_log.py``
measured 10.55 ms an event with Dagster's storage, 6.73 ms with the engines kept, and 3.60 ms with the
connections kept. The files, their schema and what is written are Dagster's; every write is still its own
committed transaction in WAL mode, and other processes (the webserver, the daemon) read the files as before. A
process keeps at most ``KEPT`` files open; the least recently used is closed.

Its connections use SQLite's ``synchronous=NORMAL`` (config ``synchronous``; ``FULL`` is SQLite's default): a
commit no longer waits for the disk, only checkpoints do. In WAL mode that can corrupt nothing and loses nothing
when a process crashes or is killed; what it costs is that after a power loss or an operating-system crash the
last events written before it (those since the last checkpoint) may be gone: the UI would then lack those
materializations and check results, while the data they describe, stored by the run in the lake and the
warehouse, stays. ``bench_event_log.py``: 2.11 ms an event with ``FULL``, 1.27 ms with ``NORMAL``.

``dagster.yaml`` names it under ``event_log_storage``; its files are Dagster's default place,
``$DAGSTER_HOME/history/runs``, unless ``base_dir`` says otherwise (the main job says it when DAGSTER_HOME is unset).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster._config import Field, StringSource
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool, SingletonThreadPool

from report_assets.defs.event_log_checks import INSERT_EVENT, CheckEventsAtOnce
from report_assets.defs.event_log_schema import SchemaFactsKept

KEPT = 16  # files a process keeps open: a run's own and the index, and a reader's few recent runs
SYNCHRONOUS = ("NORMAL", "FULL")  # SQLite's synchronous settings a file may use, the default first


def runs_dir(home: str | os.PathLike[str]) -> str:
    """Where Dagster keeps an instance's event log files: ``<home>/history/runs``."""
    return os.path.join(home, "history", "runs")


class KeptConnectionSqliteEventLogStorage(CheckEventsAtOnce, SchemaFactsKept, SqliteEventLogStorage):
    pool: type[Pool] = SingletonThreadPool  # each file's connection kept, one per thread

    def __init__(self, base_dir: str | None = None, inst_data: Any = None, synchronous: str = SYNCHRONOUS[0]) -> None:
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"event_log_storage config synchronous is {synchronous!r}: use one of {SYNCHRONOUS}")
        self._synchronous = synchronous.upper()
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # before Dagster's __init__, which connects
        home = os.environ.get("DAGSTER_HOME")
        # Without a base_dir or DAGSTER_HOME the instance is a temporary one (`dg check defs`, `dagster dev` with no
        # home: Dagster keeps nothing of those either), and so are its files.
        self._temporary = base_dir is None and not home
        super().__init__(base_dir or (runs_dir(home) if home else tempfile.mkdtemp(prefix="report-assets-event-log-")),
                         inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {"base_dir": Field(StringSource, is_required=False),
                "synchronous": Field(StringSource, is_required=False, default_value=SYNCHRONOUS[0])}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]
                          ) -> KeptConnectionSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as connection, connection.begin():
            yield connection

    def _engine(self, shard: str) -> Engine:
        """The file's engine, kept with its connection (one per thread); called under ``_db_lock``."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=self.pool,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            event.listen(engine, "connect", self._on_connect)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > KEPT:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def write_check_evaluation(self, event: EventLogEntry, row: dict[str, Any]) -> None:
        """The run's file, then its mirror in the index and the check's row in one transaction."""
        with self.run_connection(event.run_id) as connection:
            connection.execute(INSERT_EVENT, row)
        with self.index_connection() as connection:
            event_id = connection.execute(INSERT_EVENT, row).inserted_primary_key[0]
            self.record_check_evaluation(connection, event, event_id, row["event"])

    def _on_connect(self, connection: Any, _: Any) -> None:
        connection.execute(f"PRAGMA synchronous={self._synchronous}")

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # no connection may outlive the file it has open
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()
        if self._temporary:  # a temporary instance's files go with it
            shutil.rmtree(self._base_dir, ignore_errors=True)
