"""Which ledger-days of some ledger dates are worth fetching now: the one rule for runs and the schedule.

Closed ledger dates are immutable, so a ledger-day stored closed is never read again unless asked
(``refetch``). Everything else of a tracked ledger is due: never fetched, stored open (more can land),
or failed on its last try (even if an older closed version is stored: the failure is worth a look).
A date that has not begun in the ledger's own time zone has nothing to fetch yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from report_assets.core.ledger_day import LedgerDay
from report_assets.lake.status import DayState


@dataclass
class DatePlan:
    ledger_date: str
    fetch: list[str] = field(default_factory=list)
    skipped_closed: list[str] = field(default_factory=list)
    not_begun: list[str] = field(default_factory=list)


def ledger_todays(timezones: dict[str, str], now: datetime) -> dict[str, date]:
    """Each ledger's today, in its own time zone."""
    by_zone = {zone: now.astimezone(ZoneInfo(zone)).date() for zone in set(timezones.values())}
    return {ledger_id: by_zone[zone] for ledger_id, zone in timezones.items()}


def plan_dates(dates: list[str], timezones: dict[str, str], states: dict[LedgerDay, DayState], now: datetime,
               refetch: bool = False) -> list[DatePlan]:
    """For each date, the tracked ledgers (``timezones``' keys) to fetch, and those left out and why."""
    todays = ledger_todays(timezones, now)
    plans = []
    for ledger_date in sorted(dates):
        plan = DatePlan(ledger_date)
        day = date.fromisoformat(ledger_date)
        for ledger_id in sorted(timezones):
            state = states.get(LedgerDay(ledger_date, ledger_id))
            if day > todays[ledger_id]:
                plan.not_begun.append(ledger_id)
            elif state is not None and state.stored == "closed" and state.error is None and not refetch:
                plan.skipped_closed.append(ledger_id)
            else:
                plan.fetch.append(ledger_id)
        plans.append(plan)
    return plans
