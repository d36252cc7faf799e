"""Which ledger-days are stored and closed, from the Dagster instance (no lock on the warehouse),
and so which are due on the hourly schedule."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from report_assets.assets.partitions import LedgerDay

RAW_ASSETS = ("funds_ledger", "fees_ledger")


def closed_ledger_days(instance: dg.DagsterInstance, keys: list[str]) -> set[str]:
    """Partition keys whose latest materialization of both ledgers says the ledger date was closed."""
    closed: set[str] | None = None
    for asset in RAW_ASSETS:
        latest: dict[str, bool] = {}
        cursor = None
        while len(latest) < len(keys):  # newest first; an open day may have been fetched many times
            result = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=keys), limit=1000, cursor=cursor)
            for record in result.records:
                materialization = record.asset_materialization
                if materialization is not None and materialization.partition not in latest:
                    value = materialization.metadata.get("is_open")
                    latest[str(materialization.partition)] = bool(value.value) if value is not None else True
            if not result.has_more:
                break
            cursor = result.cursor
        done = {key for key, is_open in latest.items() if not is_open}
        closed = done if closed is None else closed & done
    return closed or set()


def due_ledger_days(instance: dg.DagsterInstance, keys: list[str], timezones: dict[str, str],
                    now: datetime) -> list[str]:
    """The keys worth fetching now: not stored closed (closed dates are immutable), and begun in their
    ledger's own time zone (a date that has not begun there has nothing to fetch)."""
    today = {ledger_id: now.astimezone(ZoneInfo(zone)).date() for ledger_id, zone in timezones.items()}
    days = [LedgerDay.from_key(key) for key in keys]
    begun = [d.key for d in days if date.fromisoformat(d.ledger_date) <= today.get(d.ledger_id, date.max)]
    closed = closed_ledger_days(instance, begun)
    return [key for key in begun if key not in closed]
