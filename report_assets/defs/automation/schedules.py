"""The hourly schedule: one run of the dates in the look-back window that have a tracked ledger-day due.

It runs at minute 17 (the provider asks for a random minute outside :00 to :10). Due means not stored
closed (never fetched, open, or failed) and begun in the ledger's own time zone; the run it asks for
fetches only those. The evaluation reads the catalog and the status file, never the warehouse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from report_assets.defs.automation.discovery import refresh_ledgers_job
from report_assets.defs.resources import DataDirResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import read_catalog, tracked_ledgers
from report_assets.pipeline.planning import DatePlan, plan_dates
from report_assets.settings import Settings


def window(now: datetime, settings: Settings) -> list[str]:
    """The look-back window's dates, up to the newest date partition (today where the partitions run)."""
    newest = now.astimezone(ZoneInfo(settings.timezone)).date()
    first = max(newest - timedelta(days=settings.lookback_days), date.fromisoformat(settings.start_date))
    return [(first + timedelta(days=n)).isoformat() for n in range((newest - first).days + 1)]


def due_dates(data: DataDir, now: datetime, settings: Settings,
              catalog: dict[str, dict[str, Any]] | None = None) -> list[DatePlan]:
    """The window's dates that have a tracked ledger-day due, each with the ledgers due (``catalog``: the
    ledger catalog when the caller has read it already)."""
    catalog = read_catalog(data.lake) if catalog is None else catalog
    timezones = tracked_ledgers(catalog, settings.ledger_ids)
    dates = window(now, settings)
    plans = plan_dates(dates, timezones, data.status.states(dates[0], dates[-1]), now)
    return [plan for plan in plans if plan.fetch]


def hourly_ledger_refresh(settings: Settings) -> dg.ScheduleDefinition:
    """The schedule in the partitions' time zone, over the settings' look-back window and tracked ledgers."""

    @dg.schedule(job=refresh_ledgers_job, cron_schedule="17 * * * *", execution_timezone=settings.timezone,
                 default_status=dg.DefaultScheduleStatus.RUNNING)
    def hourly_ledger_refresh(context: dg.ScheduleEvaluationContext,
                              data_dir: DataDirResource) -> dg.RunRequest | dg.SkipReason:
        return due_run(data_dir.data_dir(), context.scheduled_execution_time or datetime.now(UTC), settings)

    return hourly_ledger_refresh


def due_run(data: DataDir, now: datetime, settings: Settings) -> dg.RunRequest | dg.SkipReason:
    catalog = read_catalog(data.lake)
    if not catalog:
        return dg.SkipReason("No ledgers known yet: the ledger discovery sensor (or a first run) lists them.")
    due = due_dates(data, now, settings, catalog)
    if not due:
        return dg.SkipReason("Every tracked ledger-day in the look-back window is stored and closed.")
    ledger_days = sum(len(plan.fetch) for plan in due)
    return dg.RunRequest(tags={"dagster/asset_partition_range_start": due[0].ledger_date,
                               "dagster/asset_partition_range_end": due[-1].ledger_date,
                               "report_assets/ledger_days_due": str(ledger_days)})
