"""How a check and what it found show in the UI, the same for the ledgers', the summaries' and the books' checks."""

from __future__ import annotations

import dagster as dg

from report_assets.core.checks import Check

FIRST_FAILURES = 20  # listed in an evaluation's metadata; the rest are counted


def check_spec(check: Check) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(check.name, asset=check.asset, description=check.description, blocking=check.blocking)


def severity(check: Check) -> dg.AssetCheckSeverity:
    """ERROR for wrong data (blocking), WARN for doubtful data."""
    return dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN


def first_failures(lines: list[str]) -> dg.MetadataValue:
    """The first failures as a list, the rest counted."""
    more = len(lines) - FIRST_FAILURES
    return dg.MetadataValue.md("\n".join(f"- {line}" for line in lines[:FIRST_FAILURES])
                               + (f"\n- and {more} more" if more > 0 else "") or "none")
