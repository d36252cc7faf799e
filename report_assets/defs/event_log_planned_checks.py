"""A run's planned checks written as Dagster writes them, with the cost of one statement instead of one per date.

When a run starts, Dagster records each planned check with one row per partition in ``asset_check_executions``
(the UI shows them as planned, then each evaluation updates its row). Its SQL event logs build that as one
``INSERT ... VALUES`` with a row per partition, serializing the same event into every row. With the project's 25
checks, a year's backfill is 9,125 rows: the statement's compilation and the repeated serialization took 1.4 of the
1.7 s between a year's run being created and its step starting (py-spy, 365 dates). Here the event is serialized
once and the rows go as one executemany, compiled once. The rows and their values are Dagster's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._serdes import serialize_value

if TYPE_CHECKING:
    from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationPlanned


class PlannedChecksAtOnce(SqlEventLogStorage):
    """Mixed in before a Dagster SQL event log storage class."""

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
            connection.execute(AssetCheckExecutionsTable.insert(),
                               [{**row, "partition": partition} for partition in partitions])
