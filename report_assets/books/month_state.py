"""Whether a month can be handed in: which of its dates are not stored, which the Report API still has open, and
whether the books are older than the ledger-days stored since they were computed.

Read from the ledger-day status (what every run stored) and the books' own statement (what they were computed
from), so an export can say exactly what is missing and fetch it, or name it with the command that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from report_assets.lake.data_dir import DataDir


@dataclass(frozen=True)
class MonthState:
    month: date
    missing: dict[str, list[str]]  # ledger -> dates of the month, up to today, not stored
    open: dict[str, list[str]]  # ledger -> stored dates the API still has open
    stale: dict[str, str]  # ledger -> why its books are older than its ledgers
    computed_at: str | None  # when the books were computed

    @property
    def missing_dates(self) -> list[str]:
        return sorted({d for dates in self.missing.values() for d in dates})

    @property
    def open_dates(self) -> list[str]:
        return sorted({d for dates in self.open.values() for d in dates})


def month_days(month: date, today: date, start_date: date) -> list[date]:
    last = min(date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1), today)
    first = max(month, start_date)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def month_state(data: DataDir, month: date, ledger_ids: list[str], today: date, start_date: date,
                statements: list[dict]) -> MonthState:
    """``statements``: the month's rows of monthly_statement as the books last wrote them."""
    days = [d.isoformat() for d in month_days(month, today, start_date)]
    states = data.status.states(days[0], days[-1]) if days else {}
    stored: dict[str, dict[str, str]] = {ledger: {} for ledger in ledger_ids}
    newest: dict[str, datetime] = {}
    for day, state in states.items():
        if day.ledger_id in stored and state.stored is not None:
            stored[day.ledger_id][day.ledger_date] = state.stored
            if state.fetched_at:
                fetched = datetime.fromisoformat(state.fetched_at)
                newest[day.ledger_id] = max(fetched, newest.get(day.ledger_id, fetched))
    by_ledger = {row["ledger_id"]: row for row in statements}
    stale = {}
    for ledger, dates in stored.items():
        row = by_ledger.get(ledger)
        if dates and row is None:
            stale[ledger] = f"{len(dates)} date(s) stored, no statement of them yet"
        elif row is not None and ledger in newest and row.get("computed_at") and newest[ledger] > row["computed_at"]:
            stale[ledger] = f"ledger-days stored since, the last at {newest[ledger]:%Y-%m-%d %H:%M:%S} UTC"
    computed = [f"{row['computed_at']:%Y-%m-%d %H:%M:%S} UTC" for row in statements if row.get("computed_at")]
    return MonthState(
        month,
        missing={ledger: [d for d in days if d not in dates] for ledger, dates in stored.items()
                 if any(d not in dates for d in days)},
        open={ledger: sorted(d for d, s in dates.items() if s == "open") for ledger, dates in stored.items()
              if "open" in dates.values()},
        stale=stale, computed_at=min(computed) if computed else None)
