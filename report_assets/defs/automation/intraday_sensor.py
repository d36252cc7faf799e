"""The intraday sensor: today's entries from the feed of every tracked ledger and topic, every few minutes.

Off by default (turn it on in the UI): it writes to the warehouse from the daemon, so a tick that
finds the warehouse busy skips rather than waits, and the next tick continues from the saved cursors.
"""

import dagster as dg

from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import read_catalog, tracked_ledgers
from report_assets.pipeline.intraday import poll_feed
from report_assets.report_api.entry_schema import TOPICS
from report_assets.settings import Settings
from report_assets.warehouse.database import WarehouseLockedError, open_for_write


def intraday_feed_sensor(settings: Settings) -> dg.SensorDefinition:
    """The sensor over the ledgers the settings track."""

    @dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
    def intraday_feed_sensor(context: dg.SensorEvaluationContext, report_api: ReportApiResource,
                             data_dir: DataDirResource) -> dg.SkipReason:
        """Polls the feed (the provider discourages more than once a minute) into ``intraday_entries``."""
        return poll_feeds(context, report_api, data_dir.data_dir(), settings.ledger_ids)

    return intraday_feed_sensor


def poll_feeds(context: dg.SensorEvaluationContext, report_api: ReportApiResource, data: DataDir,
               ledger_ids: frozenset[str] | None) -> dg.SkipReason:
    ledgers = sorted(tracked_ledgers(read_catalog(data.lake), ledger_ids))
    stored = {}
    try:
        with report_api.client() as client:
            report_api.claim(data, client)
            with open_for_write(data.warehouse, max_wait_seconds=10, say=context.log.info) as connection:
                for ledger_id in ledgers:
                    for topic in TOPICS:
                        stored[f"{ledger_id}/{topic}"] = poll_feed(client, connection, ledger_id, topic)
    except WarehouseLockedError:
        return dg.SkipReason("The warehouse is busy (a run is writing): the next tick continues from the cursors.")
    return dg.SkipReason(f"Stored {sum(stored.values())} new feed entries: {stored}")
