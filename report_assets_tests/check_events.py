"""A run's check events, stored by an event log storage and read back: what the project's storages must write as
Dagster's own do (``report_assets/defs/event_log_checks.py``)."""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg
import sqlalchemy as db
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationPlanned
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

DATES = dg.DailyPartitionsDefinition(start_date="2025-01-01")
PARTITIONS = DATES.get_partition_keys()[:365]
FUNDS = dg.AssetKey("funds_ledger")
PLANNED = dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED


def entry(data: object, kind: dg.DagsterEventType, at: float) -> EventLogEntry:
    event = dg.DagsterEvent(event_type_value=kind.value, job_name="__ASSET_JOB", step_key="ledger_entries",
                            event_specific_data=data)
    return EventLogEntry(error_info=None, level=logging.DEBUG, user_message="", run_id="a-run", timestamp=at,
                         job_name="__ASSET_JOB", dagster_event=event)


def evaluation(check: str, partition: str | None, passed: bool, at: float) -> EventLogEntry:
    return entry(dg.AssetCheckEvaluation(asset_key=FUNDS, check_name=check, passed=passed, partition=partition,
                                         metadata={"ledgers_checked": 10}),
                 dg.DagsterEventType.ASSET_CHECK_EVALUATION, at)


EVENTS = [
    entry(AssetCheckEvaluationPlanned(asset_key=FUNDS, check_name="balance_arithmetic",
                                      partitions_subset=DATES.subset_with_partition_keys(PARTITIONS)
                                      .to_serializable_subset()), PLANNED, 1.7e9),
    entry(AssetCheckEvaluationPlanned(asset_key=FUNDS, check_name="fresh_closed_dates"), PLANNED, 1.7e9 + 1),
    evaluation("balance_arithmetic", PARTITIONS[0], True, 1.7e9 + 2),  # its planned row updated
    evaluation("balance_arithmetic", PARTITIONS[1], False, 1.7e9 + 3),
    evaluation("fresh_closed_dates", None, True, 1.7e9 + 4),  # a check without partitions
    evaluation("no_duplicates", PARTITIONS[2], True, 1.7e9 + 5),  # never planned: a row of its own
]


def rows_written(storage: SqlEventLogStorage) -> dict[str, list[dict[str, Any]]]:
    """Stores ``EVENTS`` and reads back every row they made: the checks' rows, the index's events, the run's. Each
    column but the one the database sets itself when a row is made (``create_timestamp``)."""
    try:
        for event in EVENTS:
            storage.store_event(event)
        with storage.index_connection() as index:  # one at a time: the project's SQLite storage locks in each
            checks = [c for c in AssetCheckExecutionsTable.c if c.name != "create_timestamp"]
            rows = {"checks": [row._asdict() for row in index.execute(db.select(*checks).order_by(
                        AssetCheckExecutionsTable.c.check_name, AssetCheckExecutionsTable.c.partition))],
                    "index": [row._asdict() for row in index.execute(SqlEventLogStorageTable.select())]}
        with storage.run_connection("a-run") as run:
            rows["run"] = [row._asdict() for row in run.execute(SqlEventLogStorageTable.select())]
        return rows
    finally:
        storage.dispose()


def assert_written_alike(projects: dict[str, list[dict[str, Any]]], dagsters: dict[str, list[dict[str, Any]]]) -> None:
    assert len(projects["checks"]) == len(PARTITIONS) + 2
    statuses = {(row["check_name"], row["partition"]): row["execution_status"] for row in projects["checks"]}
    assert statuses[("balance_arithmetic", PARTITIONS[0])] == "SUCCEEDED"
    assert statuses[("balance_arithmetic", PARTITIONS[1])] == "FAILED"
    assert statuses[("balance_arithmetic", PARTITIONS[2])] == "PLANNED"
    assert statuses[("fresh_closed_dates", None)] == "SUCCEEDED"
    assert statuses[("no_duplicates", PARTITIONS[2])] == "SUCCEEDED"
    assert len(projects["run"]) == len(EVENTS)
    for table in ("checks", "index", "run"):  # every column alike, the ids and the serialized events included
        assert projects[table] == dagsters[table], table
