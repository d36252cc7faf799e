"""A run's check events written as Dagster writes them, with a fraction of the statements' cost.

Checks are most of what a run writes to the event log: the ledger step's 20 checks evaluated on every date, against
six materializations. Two costs are cut here; the rows and their values stay Dagster's, and a test compares them column
by column with Dagster's own storage's.

- **Planned checks.** When a run starts, Dagster records each planned check with one row per partition in
  ``asset_check_executions``, built as one ``INSERT ... VALUES`` with the same event serialized into every row: for
  a year's backfill, 7,300 rows. Compiling that statement and the repeated serialization took 1.4 of the 1.7 s
  between a 365-date run's first event and its step (py-spy). Here the event is serialized once and the rows go as
  one executemany, compiled once.
- **Evaluations.** Each evaluation updates its planned row. Dagster builds that statement anew for every event
  and serializes the event a second time for it; here the statements are built once, with bound parameters, and the
  event's serialized form is the one its ``event_logs`` row got. Each storage class writes the row and the update
  in one transaction (its ``write_check_evaluation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as db
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._serdes import serialize_value
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluation,
        AssetCheckEvaluationPlanned,
    )

CHECKS = AssetCheckExecutionsTable.c
INSERT_EVENT = SqlEventLogStorageTable.insert()  # the row's values bound at each execution
_SAME_RUN_AND_CHECK = (CHECKS.asset_key == db.bindparam("of_asset_key"),
                       CHECKS.check_name == db.bindparam("of_check_name"), CHECKS.run_id == db.bindparam("of_run_id"))
# The planned row of a check in a run, for one partition, or for none: the columns to set are bound at execution.
UPDATE_PLANNED = AssetCheckExecutionsTable.update().where(*_SAME_RUN_AND_CHECK,
                                                           CHECKS.partition == db.bindparam("of_partition"))
UPDATE_PLANNED_UNPARTITIONED = AssetCheckExecutionsTable.update().where(*_SAME_RUN_AND_CHECK,
                                                                         CHECKS.partition.is_(None))
INSERT_CHECK_ROW = AssetCheckExecutionsTable.insert()


class CheckEventsAtOnce(SqlEventLogStorage):
    """Mixed in before a Dagster SQL event log storage class, which says how it writes a run's check evaluation
    (``write_check_evaluation``)."""

    def store_event(self, event: EventLogEntry) -> None:
        """A run's check evaluation through ``write_check_evaluation``; any other event as Dagster writes it."""
        if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION and event.run_id:
            self.write_check_evaluation(event, self._event_to_row(event))
        else:
            super().store_event(event)

    def write_check_evaluation(self, event: EventLogEntry, row: dict[str, Any]) -> None:
        """Writes ``row`` (the event's ``event_logs`` row) where Dagster's ``store_event`` would, then the check's row
        (``record_check_evaluation``)."""
        raise NotImplementedError

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        assert event.dagster_event is not None
        planned = cast("AssetCheckEvaluationPlanned", event.dagster_event.event_specific_data)
        partitions = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        row = {"asset_key": planned.asset_key.to_string(), "check_name": planned.check_name, "run_id": event.run_id,
               "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
               "evaluation_event": serialize_value(event),
               "evaluation_event_timestamp": self._event_insert_timestamp(event),
               "evaluation_event_storage_id": event_id}
        with self.index_connection() as connection:
            connection.execute(INSERT_CHECK_ROW, [{**row, "partition": partition} for partition in partitions])

    def record_check_evaluation(self, connection: Connection, event: EventLogEntry, event_id: int,
                                serialized: str) -> None:
        """What Dagster's ``_update_asset_check_evaluation`` writes for a run's evaluation, on ``connection``, with
        the event already ``serialized``: its planned row updated, or a new row if it had none."""
        assert event.dagster_event is not None
        evaluation = cast("AssetCheckEvaluation", event.dagster_event.event_specific_data)
        status = AssetCheckExecutionRecordStatus.SUCCEEDED if evaluation.passed else \
            AssetCheckExecutionRecordStatus.FAILED
        target = evaluation.target_materialization_data
        values: dict[str, Any] = {
            "execution_status": status.value, "evaluation_event": serialized,
            "evaluation_event_timestamp": self._event_insert_timestamp(event), "evaluation_event_storage_id": event_id,
            "materialization_event_storage_id": target.storage_id if target else None,
            "partition": evaluation.partition}
        key = {"of_asset_key": evaluation.asset_key.to_string(), "of_check_name": evaluation.check_name,
               "of_run_id": event.run_id}
        if evaluation.partition is None:
            updated = connection.execute(UPDATE_PLANNED_UNPARTITIONED, {**key, **values}).rowcount
        else:
            updated = connection.execute(UPDATE_PLANNED, {**key, "of_partition": evaluation.partition,
                                                          **values}).rowcount
        if updated == 0:
            connection.execute(INSERT_CHECK_ROW, {"asset_key": evaluation.asset_key.to_string(),
                                                  "check_name": evaluation.check_name, "run_id": event.run_id,
                                                  **values})
