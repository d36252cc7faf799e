"""The hourly schedule: every ledger-day that is new since the last closed date, or still open.

It runs at minute 17 (the provider asks for a random minute outside :00 to :10), in one run, and
asks the run to skip ledger-days already stored closed: closed dates are immutable, and an open one
is simply fetched again next hour, never waited for.
"""

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME, ledger_dates
from report_assets.automation.closed_days import closed_ledger_days

ENV_LOOKBACK = "REPORT_ASSETS_SCHEDULE_LOOKBACK_DAYS"
DEFAULT_LOOKBACK_DAYS = 7

refresh_ledgers_job = dg.define_asset_job(
    "refresh_ledgers",
    selection=dg.AssetSelection.all(),
    description="Fetch open and new ledger-days of every ledger, with their summaries and checks.",
)


def ledger_days_to_fetch(instance: dg.DagsterInstance, ledgers: list[str], today: date,
                         lookback_days: int) -> list[str]:
    window = [today - timedelta(days=n) for n in range(lookback_days, -1, -1)]
    keys = [f"{day.isoformat()}|{ledger_id}" for ledger_id in ledgers for day in window]
    closed = closed_ledger_days(instance, keys)
    return [key for key in keys if key not in closed]


@dg.schedule(job=refresh_ledgers_job, cron_schedule="17 * * * *", execution_timezone=ledger_dates.timezone,
             default_status=dg.DefaultScheduleStatus.RUNNING)
def hourly_ledger_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    ledgers = list(context.instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME))
    if not ledgers:
        return dg.SkipReason("No ledgers known yet: the ledger discovery sensor adds them.")
    now = context.scheduled_execution_time or datetime.now(ZoneInfo(ledger_dates.timezone))
    today = now.astimezone(ZoneInfo(ledger_dates.timezone)).date()
    lookback = int(os.environ.get(ENV_LOOKBACK, DEFAULT_LOOKBACK_DAYS))
    needed = ledger_days_to_fetch(context.instance, ledgers, today, lookback)
    if not needed:
        return dg.SkipReason("Every ledger-day in the lookback window is stored and closed.")
    first = min(key.split("|")[0] for key in needed)
    return dg.RunRequest(
        tags={"dagster/asset_partition_range_start": f"{first}|{ledgers[0]}",
              "dagster/asset_partition_range_end": f"{today.isoformat()}|{ledgers[-1]}"},
        run_config={"ops": {"ledger_entries": {"config": {"skip_closed": True}}}},
    )
