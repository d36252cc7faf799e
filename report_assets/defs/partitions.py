"""One partition per ledger date (keys like ``2026-01-31``), holding that date for every tracked ledger.

Ledgers are data, not partitions: a partner's thousands of ledgers would otherwise be millions of
partitions. Which ledgers a run covers comes from the ledger catalog and the run's config.
"""

from __future__ import annotations

import dagster as dg

from report_assets.settings import load_settings, said_first

SETTINGS = said_first(load_settings)

ledger_dates = dg.DailyPartitionsDefinition(
    start_date=SETTINGS.start_date,
    timezone=SETTINGS.timezone,
    end_offset=1,  # today is a partition too: it is open, and stored as such
)
