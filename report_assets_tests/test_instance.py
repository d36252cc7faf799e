"""The project's instance as dagster.yaml makes it (make main, make ui): its event log keeps each file's connection
open between writes, and loses nothing for it: another instance on the same files, with connections of its own,
reads every event a run wrote, in the files where Dagster puts them."""

import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Engine

from report_assets.defs.event_log import KEPT, KeptConnectionSqliteEventLogStorage
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.settings import PROJECT_ROOT
from report_assets_tests.check_events import PARTITIONS, assert_written_alike, rows_written
from report_assets_tests.conftest import LEDGER_STEP, Sim

DATES = ("2026-11-17", "2026-11-18")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_a_run_on_the_project_instance_is_read_whole_by_another_instance(home: Path, sim: Sim, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    asked: Counter[str] = Counter()  # what the writer asks the database about its own tables
    dagsters_has_table = SqliteEventLogStorage.has_table

    def has_table(storage: SqliteEventLogStorage, name: str) -> bool:
        asked[name] += 1
        return dagsters_has_table(storage, name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", has_table)
    with dg.DagsterInstance.from_config(str(home)) as writer:
        assert isinstance(writer.event_log_storage, KeptConnectionSqliteEventLogStorage)
        result = dg.materialize(
            [LEDGER_STEP], instance=writer,
            resources={"report_api": ReportApiResource(base_url=sim.base_url),
                       "data_dir": DataDirResource(path=str(tmp_path / "data"))},
            tags={"dagster/asset_partition_range_start": DATES[0], "dagster/asset_partition_range_end": DATES[1]})
        assert result.success
        # Dagster asks at every check evaluation whether its table exists; the project's storage asks once.
        assert asked["asset_check_executions"] == 1
        assert not writer.event_log_storage.has_table("no_such_table")  # a no is asked again: a migration may add it
        assert not writer.event_log_storage.has_table("no_such_table")
        assert asked["no_such_table"] == 2
        kept = len(writer.event_log_storage._engines)
        assert 2 <= kept <= KEPT  # the run's file and the index stay open, no more than KEPT
        for engine in writer.event_log_storage._engines.values():  # a commit waits for no disk (1: NORMAL, 2: FULL)
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        # Read while the writer still holds its connections open: committed, every event.
        with dg.DagsterInstance.from_config(str(home)) as reader:
            for table in ("funds_ledger", "fees_ledger", "daily_payout_summary", "journal_lines"):
                assert reader.get_materialized_partitions(dg.AssetKey(table)) == set(DATES), table
            written = writer.all_logs(result.run_id)
            assert [e.dagster_event_type for e in reader.all_logs(result.run_id)] == \
                [e.dagster_event_type for e in written]
            evaluations = [e for e in written if e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
            assert len(evaluations) >= 2 * 19  # each check on each date
            history = reader.event_log_storage.get_asset_check_execution_history(
                dg.AssetCheckKey(dg.AssetKey("funds_ledger"), "balance_arithmetic"), limit=10)
            assert {record.event.asset_check_evaluation.partition for record in history} == set(DATES)
    assert (home / "history" / "runs" / f"{result.run_id}.db").exists()  # where Dagster's own storage puts it


def test_a_runs_check_events_are_written_as_dagsters_own_storage_writes_them(tmp_path: Path) -> None:
    """The project's storage writes planned checks and evaluations its own, cheaper way: every row it writes, in the
    run's file and in the index, equals what Dagster's own storage writes for the same events."""
    inserts = []

    def seen(_conn: object, _cursor: object, statement: str, parameters: object, _context: object,
             executemany: bool) -> None:
        if statement.startswith("INSERT INTO asset_check_executions"):
            inserts.append((executemany, len(parameters) if executemany else 1))  # type: ignore[arg-type]

    dagsters = rows_written(SqliteEventLogStorage(str(tmp_path / "dagster")))
    with listening(Engine, "before_cursor_execute", seen):
        projects = rows_written(KeptConnectionSqliteEventLogStorage(str(tmp_path / "project")))
    assert inserts[0] == (True, len(PARTITIONS))  # the project's: the year's planned rows, one statement run for each
    assert_written_alike(projects, dagsters)


@contextmanager
def listening(target: object, name: str, listener: Callable[..., None]) -> Iterator[None]:
    sqlalchemy_event.listen(target, name, listener)
    try:
        yield
    finally:
        sqlalchemy_event.remove(target, name, listener)
