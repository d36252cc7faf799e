"""Ledger date x ledger ID: one partition per ledger-day, keys like ``2026-01-31|302321``."""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

ENV_START_DATE = "REPORT_ASSETS_START_DATE"
ENV_TIMEZONE = "REPORT_ASSETS_TIMEZONE"
ENV_LEDGER_ALLOW_LIST = "REPORT_ASSETS_LEDGER_IDS"
LEDGER_PARTITIONS_NAME = "ledger_ids"

ledger_ids = dg.DynamicPartitionsDefinition(name=LEDGER_PARTITIONS_NAME)

ledger_dates = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(ENV_START_DATE, "2024-01-01"),
    timezone=os.environ.get(ENV_TIMEZONE, "Europe/Oslo"),
    end_offset=1,  # today is a partition too: it is open, and stored as such
)

ledger_day_partitions = dg.MultiPartitionsDefinition({"date": ledger_dates, "ledger": ledger_ids})


@dataclass(frozen=True, order=True)
class LedgerDay:
    ledger_date: str
    ledger_id: str

    @classmethod
    def from_key(cls, key: str | dg.MultiPartitionKey) -> LedgerDay:
        dims = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else \
            dict(zip(("date", "ledger"), str(key).split("|"), strict=True))
        return cls(dims["date"], dims["ledger"])

    @property
    def key(self) -> str:
        return f"{self.ledger_date}|{self.ledger_id}"


def allowed_ledgers(ledger_ids_seen: list[str]) -> list[str]:
    """The ledgers to track: all the keys can read, or those of the optional allow-list."""
    allow = {i.strip() for i in os.environ.get(ENV_LEDGER_ALLOW_LIST, "").split(",") if i.strip()}
    return [i for i in ledger_ids_seen if not allow or i in allow]
