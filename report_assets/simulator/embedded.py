"""The simulator embedded in place of production, asked what production is not asked: the world it serves, and its
bank, delivering statements into the bank folder as a bank's file transfer would.

In production the merchant's bank (or an integration) drops camt.053 files in the folder and this is
not used. On the simulator, each run asks for the months its stored ledger-days touch, per ledger;
a month's file written after the month ended is final and not asked for again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from report_assets.core.files import replace_file
from report_assets.core.tls import tls_for


def months_between(first: date, last: date) -> list[date]:
    months = []
    current = first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def statement_path(folder: Path, ledger_id: str, month: date) -> Path:
    return folder / f"simulator-{ledger_id}-{month:%Y-%m}.camt053.xml"


def is_final(path: Path, month: date) -> bool:
    """Written after the month's last day had ended everywhere (a day's margin for time zones)."""
    next_month = (month + timedelta(days=32)).replace(day=1)
    return path.exists() and datetime.fromtimestamp(path.stat().st_mtime, UTC).date() > next_month


def deliver_statements(base_url: str, first_dates: dict[str, date], folder: Path, today: date) -> int:
    """Fetches each ledger's statements from its first stored month to this one; returns files written."""
    written = 0
    folder.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=base_url, timeout=60, verify=tls_for(base_url)) as http:
        for ledger_id, first in sorted(first_dates.items()):
            for month in months_between(first, today):
                path = statement_path(folder, ledger_id, month)
                if is_final(path, month):
                    continue
                response = http.get(f"/_simulator/bank/{ledger_id}/camt053/{month:%Y-%m}")
                if response.status_code == 404:  # no day of the month has closed at the bank yet
                    continue
                response.raise_for_status()
                body = response.content
                replace_file(path, lambda temporary, body=body: temporary.write_bytes(body))
                written += 1
    return written



def world_of(base_url: str) -> dict[str, object] | None:
    """Which world a running simulator serves (its seed and data options), None when it does not say."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/_simulator/stats", timeout=10, verify=tls_for(base_url))
        return response.json().get("world") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
