"""The hourly schedule: every ledger-day that is new since the last closed date, or still open.

It runs at minute 17 (the provider asks for a random minute outside :00 to :10), in one run, and
asks the run to skip ledger-days already stored closed: closed dates are immutable, and an open one
is simply fetched again next hour, never waited for.
"""

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME, ledger_dates
from report_assets.automation.closed_days import due_ledger_days
from report_assets.ledger_catalog import timezones_of
from report_assets.resources import DataDirResource

ENV_LOOKBACK = "REPORT_ASSETS_SCHEDULE_LOOKBACK_DAYS"
DEFAULT_LOOKBACK_DAYS = 7

refresh_ledgers_job = dg.define_asset_job(
    "refresh_ledgers",
    selection=dg.AssetSelection.all(),
    description="Fetch open and new ledger-days of every ledger, with their summaries and checks.",
)


def ledger_days_to_fetch(instance: dg.DagsterInstance, timezones: dict[str, str], now: datetime,
                         lookback_days: int) -> list[str]:
    """Each ledger's last ``lookback_days`` dates up to its own today (in its time zone, no later than the
    newest date partition), less those stored closed."""
    newest = now.astimezone(ZoneInfo(ledger_dates.timezone)).date()
    keys = []
    for ledger_id, timezone in timezones.items():
        today = min(now.astimezone(ZoneInfo(timezone)).date(), newest)
        keys += [f"{(today - timedelta(days=n)).isoformat()}|{ledger_id}" for n in range(lookback_days, -1, -1)]
    return due_ledger_days(instance, keys, timezones, now)


@dg.schedule(job=refresh_ledgers_job, cron_schedule="17 * * * *", execution_timezone=ledger_dates.timezone,
             default_status=dg.DefaultScheduleStatus.RUNNING)
def hourly_ledger_refresh(context: dg.ScheduleEvaluationContext,
                          data_dir: DataDirResource) -> dg.RunRequest | dg.SkipReason:
    ledgers = list(context.instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME))
    if not ledgers:
        return dg.SkipReason("No ledgers known yet: the ledger discovery sensor adds them.")
    now = context.scheduled_execution_time or datetime.now(UTC)
    timezones = timezones_of(data_dir.data_dir().ledger_catalog, ledgers, ledger_dates.timezone)
    lookback = int(os.environ.get(ENV_LOOKBACK, DEFAULT_LOOKBACK_DAYS))
    needed = ledger_days_to_fetch(context.instance, timezones, now, lookback)
    if not needed:
        return dg.SkipReason("Every ledger-day in the lookback window is stored and closed.")
    dates = [key.split("|")[0] for key in needed]
    return dg.RunRequest(
        tags={"dagster/asset_partition_range_start": f"{min(dates)}|{ledgers[0]}",
              "dagster/asset_partition_range_end": f"{max(dates)}|{ledgers[-1]}"},
        run_config={"ops": {"ledger_entries": {"config": {"skip_closed": True}}}},
    )
