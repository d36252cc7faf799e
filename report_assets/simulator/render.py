"""Entries as JSON text, fast: the simulator must serve far more entries per second than a client reads."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache

from report_assets.simulator.generator import MESSAGES, NAMES, Entry

EPOCH = date(1970, 1, 1)
DAY_US = 86_400_000_000


@lru_cache(maxsize=8192)
def _utc_date(days: int) -> str:
    return (EPOCH + timedelta(days=days)).isoformat()


def format_utc(time_us: int) -> str:
    """RFC 3339 in UTC with six fractional digits, as the API sends it."""
    days, rest = divmod(time_us, DAY_US)
    seconds, micros = divmod(rest, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_utc_date(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{micros:06d}Z"


def _gdpr_json(index: int) -> str:
    name = NAMES[index % len(NAMES)]
    phone = f"xxxx{1000 + (index * 7919) % 9000}"
    message = MESSAGES[index % len(MESSAGES)]
    return (f',"name":{json.dumps(name, ensure_ascii=False)},"maskedPhoneNo":"{phone}",'
            f'"message":{json.dumps(message, ensure_ascii=False)}')


GDPR_JSON = tuple(_gdpr_json(i) for i in range(1000))


def render_day(ledger_date: date, currency: str, opening: int, entries: list[Entry], include_gdpr: bool) -> list[str]:
    """One JSON object per entry, with the balance chain filled in from ``opening``."""
    day_text = ledger_date.isoformat()
    head = f'","ledgerDate":"{day_text}","entryType":"'
    currency_part = f'","currency":"{currency}","amount":'
    rendered = []
    balance = opening
    for e in entries:
        after = balance + e.amount
        reference = "" if e.reference is None else f',"reference":"{e.reference}"'
        handle = "null" if e.recipient_handle is None else f'"{e.recipient_handle}"'
        gdpr = GDPR_JSON[e.gdpr] if include_gdpr and e.gdpr is not None else ""
        rendered.append(
            f'{{"pspReference":"{e.psp_reference}","time":"{format_utc(e.time_us)}{head}{e.entry_type}"'
            f'{reference}{currency_part[1:]}{e.amount},"balanceBefore":{balance},"balanceAfter":{after},'
            f'"recipientHandle":{handle}{gdpr}}}'
        )
        balance = after
    return rendered
