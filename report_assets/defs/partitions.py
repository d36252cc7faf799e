"""One partition per ledger date (keys like ``2026-01-31``), holding that date for every tracked ledger.

Ledgers are data, not partitions: a partner's thousands of ledgers would otherwise be millions of
partitions. Which ledgers a run covers comes from the ledger catalog and the run's config.
"""

from __future__ import annotations

import dagster as dg

from report_assets.settings import Settings


def ledger_dates(settings: Settings) -> dg.DailyPartitionsDefinition:
    """The date partitions the settings ask for: from their start date, in their time zone, up to today."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date,
        timezone=settings.timezone,
        end_offset=1,  # today is a partition too: it is open, and stored as such
    )
