"""The ledger step's checks, recorded per ledger date, as each batch of dates is stored.

Dagster 1.13 plans every check of a partitioned run once per partition of the run (even a check declared
without partitions), so one result per check and run would leave a planned row per date that the UI shows as
skipped. The step therefore records what each check found on each date it checked. A date the run did not
check (stored closed before, nothing fetched) keeps its planned row: skipped, which is what happened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import dagster as dg

from report_assets.core.checks import Finding
from report_assets.core.ledger_day import LedgerDay
from report_assets.defs.check_results import check_spec, first_failures, severity
from report_assets.lake.data_dir import DataDir
from report_assets.pipeline.ingestion import BatchOutcome, DateOutcome
from report_assets.transforms.summaries import ALL_CHECKS, DataCheck

STORED_CHECK = "all_tracked_ledgers_stored"

# ERROR checks are blocking, as the UI says: a failing ledger-day gets no summaries (the others do), and
# the run fails, once: the step raises its own failure, which forbids a retry (wrong data stays wrong),
# before Dagster's generic blocking-check error (which the retry policy would repeat) is reached.
CHECK_SPECS = [
    *map(check_spec, ALL_CHECKS),
    dg.AssetCheckSpec(STORED_CHECK, asset="funds_ledger",
                      description="every tracked ledger has its ledger-day of the date stored (open or closed): "
                                  "none missing, none failed"),
]


def batch_evaluations(selected: set[dg.AssetCheckKey], batch: BatchOutcome,
                      data: DataDir) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation per selected check and date of ``batch`` that the check ran on."""
    checked: dict[str, set[str]] = defaultdict(set)
    for ledger_id, ledger_date in batch.checked:
        checked[ledger_date].add(ledger_id)
    for check in ALL_CHECKS:
        if dg.AssetCheckKey(dg.AssetKey(check.asset), check.name) not in selected:
            continue
        found_on: dict[str, list[Finding]] = defaultdict(list)
        for failure in batch.failures.get(check, []):
            found_on[failure.ledger_date or ""].append(failure)
        for ledger_date in sorted(checked.keys() | found_on.keys()):
            yield data_check_evaluation(check, ledger_date, len(checked[ledger_date]), found_on[ledger_date])
    if dg.AssetCheckKey(dg.AssetKey("funds_ledger"), STORED_CHECK) in selected:
        missing = missing_ledger_days(data, batch.dates)
        for outcome in batch.dates:
            yield stored_evaluation(outcome, missing.get(outcome.ledger_date, []))


def data_check_evaluation(check: DataCheck, ledger_date: str, ledgers: int,
                          found: list[Finding]) -> dg.AssetCheckEvaluation:
    metadata: dict[str, dg.RawMetadataValue] = {"ledgers_checked": ledgers}
    if found:
        metadata |= {
            "failing_ledgers": dg.MetadataValue.json(sorted({f.ledger_id for f in found})),
            "first_failures": first_failures([f"ledger {f.ledger_id}: {f.detail}" for f in found]),
        }
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(check.asset), check_name=check.name, passed=not found, partition=ledger_date,
        severity=severity(check),
        description=("blocks the summaries of the failing ledger-days" if check.blocking and found else None),
        metadata=metadata,
    )


def missing_ledger_days(data: DataDir, outcomes: list[DateOutcome]) -> dict[str, list[str]]:
    """Per date, the tracked ledgers with nothing stored for it, or whose last attempt failed."""
    if not outcomes:
        return {}
    dates = sorted(o.ledger_date for o in outcomes)  # batches complete out of date order
    states = data.status.states(dates[0], dates[-1])
    missing: dict[str, list[str]] = {}
    for outcome in outcomes:
        gaps = []
        for ledger_id in sorted(outcome.due):
            state = states.get(LedgerDay(outcome.ledger_date, ledger_id))
            if state is None or state.stored is None or state.error is not None:
                gaps.append(ledger_id)
        if gaps:
            missing[outcome.ledger_date] = gaps
    return missing


def stored_evaluation(outcome: DateOutcome, missing: list[str]) -> dg.AssetCheckEvaluation:
    lines = [f"ledger {i}: {outcome.failed.get(i, 'not stored')}" for i in missing]
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("funds_ledger"), check_name=STORED_CHECK, passed=not missing,
        partition=outcome.ledger_date, severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{len(missing)} tracked ledger(s) missing or failed on {outcome.ledger_date}: re-run this "
                     "date (only what is missing is fetched)." if missing else None),
        metadata={
            "ledgers_tracked": len(outcome.due),
            "missing_or_failed": dg.MetadataValue.json(missing),
            "first_gaps": first_failures(lines),
        },
    )
