"""The data checks of a run, and the check that every tracked ledger-day of its dates is stored.

Dagster 1.13 can attach a check result to one partition only when the step runs one partition, so
these checks are evaluated once per run, over the ledger-days and dates it covered, and name them.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from report_assets.data_dir import DataDir
from report_assets.ingestion import DateOutcome
from report_assets.ledger_day import LedgerDay
from report_assets.storage.summaries import ALL_CHECKS, DataCheck, Failure

STORED_CHECK = "all_tracked_ledgers_stored"

# ERROR checks are blocking, as the UI says: a failing ledger-day gets no summaries (the others do), and
# the run fails, once: the step raises its own failure, which forbids a retry (wrong data stays wrong),
# before Dagster's generic blocking-check error (which the retry policy would repeat) is reached.
CHECK_SPECS = [
    *(dg.AssetCheckSpec(check.name, asset=check.asset, description=check.description, blocking=check.blocking)
      for check in ALL_CHECKS),
    dg.AssetCheckSpec(STORED_CHECK, asset="funds_ledger",
                      description="every tracked ledger has its ledger-days of the run's dates stored (open or "
                                  "closed): none missing, none failed"),
]


def check_results(context: dg.AssetExecutionContext, failures: dict[DataCheck, list[Failure]],
                  days: int) -> Iterator[dg.AssetCheckResult]:
    for check in ALL_CHECKS:
        key = dg.AssetCheckKey(dg.AssetKey(check.asset), check.name)
        if key not in context.selected_asset_check_keys:
            continue
        found = failures.get(check, [])
        yield dg.AssetCheckResult(
            asset_key=check.asset, check_name=check.name, passed=not found,
            severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
            description=("blocks the summaries of the failing ledger-days" if check.blocking and found else None),
            metadata={
                "ledger_days_checked": days,
                "failing_ledger_days": dg.MetadataValue.json(sorted({f"{f[1]}|{f[0]}" for f in found})),
                "first_failures": dg.MetadataValue.md("\n".join(f"- ledger {f[0]} on {f[1]}: {f[2]}"
                                                                for f in found[:20]) or "none"),
            },
        )


def missing_ledger_days(data: DataDir, outcomes: list[DateOutcome]) -> dict[str, list[str]]:
    """Per date, the tracked ledgers with nothing stored for it, or whose last attempt failed."""
    if not outcomes:
        return {}
    dates = sorted(o.ledger_date for o in outcomes)  # batches complete out of date order
    states = data.status.states(dates[0], dates[-1])
    missing: dict[str, list[str]] = {}
    for outcome in outcomes:
        tracked = [*outcome.stored_closed, *outcome.stored_open, *outcome.skipped_closed, *outcome.failed]
        gaps = []
        for ledger_id in sorted(tracked):
            state = states.get(LedgerDay(outcome.ledger_date, ledger_id))
            if state is None or state.stored is None or state.error is not None:
                gaps.append(ledger_id)
        if gaps:
            missing[outcome.ledger_date] = gaps
    return missing


def stored_check_result(context: dg.AssetExecutionContext, data: DataDir,
                        outcomes: list[DateOutcome]) -> dg.AssetCheckResult:
    missing = missing_ledger_days(data, outcomes)
    errors = {(o.ledger_date, i): e for o in outcomes for i, e in o.failed.items()}
    lines = [f"- {d}: ledger {i}: {errors.get((d, i), 'not stored')}" for d, ids in missing.items() for i in ids]
    return dg.AssetCheckResult(
        asset_key="funds_ledger", check_name=STORED_CHECK, passed=not missing,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{len(lines)} tracked ledger-day(s) missing or failed: re-run these dates (only what is "
                     "missing is fetched)." if missing else None),
        metadata={
            # a range, not a count: the count is the same every hour, and the UI would plot it
            "dates_checked": dg.MetadataValue.text(
                f"{min(o.ledger_date for o in outcomes)} to {max(o.ledger_date for o in outcomes)} "
                f"({len(outcomes)} dates)" if outcomes else "none"),
            "dates_with_gaps": dg.MetadataValue.json(sorted(missing)),
            "missing_or_failed": dg.MetadataValue.json({d: ids for d, ids in missing.items()}),
            "first_gaps": dg.MetadataValue.md("\n".join(lines[:20]) or "none"),
        },
    )
