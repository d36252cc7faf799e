"""The ledgers, their summaries and checks: one asset step, one partition per ledger-day.

``funds_ledger`` and ``fees_ledger`` hold one row per entry; ``daily_fee_summary``,
``daily_payout_summary`` and ``payouts`` are computed from them. One step does it all (for whatever
subset is selected) over one pool of connections, so a backfill of a year of ten ledgers is one run
with one simulator or one set of production connections, and the summaries follow in the same run.
Each ledger-day logs its own materialization, with its own metadata, once it is stored.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pyarrow as pa
from pydantic import Field

from report_assets.assets.partitions import LedgerDay, ledger_dates, ledger_day_partitions
from report_assets.automation.closed_days import due_ledger_days
from report_assets.data_dir import DataDir, MixedSourcesError
from report_assets.ingestion import (
    TABLE_OF_TOPIC,
    BatchOutcome,
    FailedDay,
    FetchedDay,
    IngestOptions,
    ingest,
    summarize_stored,
)
from report_assets.ledger_catalog import timezones_of
from report_assets.report_api.errors import ApiUnavailableError, ReportApiError
from report_assets.resources import SIMULATOR, DataDirResource, ReportApiResource
from report_assets.storage.schema import dagster_table_schema
from report_assets.storage.summaries import ALL_CHECKS, SUMMARY_TABLES, DataCheck, Failure
from report_assets.storage.summary_columns import table_schema
from report_assets.storage.warehouse import WarehouseLockedError

DESCRIPTIONS = {
    "funds": "The funds ledger: what Vipps MobilePay owes the merchant. Captures, refunds, fees retained, "
             "disputes, corrections and the scheduled payouts, one row per entry, amounts in minor units.",
    "fees": "The fees ledger: what the merchant owes Vipps MobilePay. Capture fees, service fees, credit notes, "
            "and the retained or invoiced totals, one row per entry, amounts in minor units.",
}


def ledger_spec(topic: str) -> dg.AssetSpec:
    table = TABLE_OF_TOPIC[topic]
    return dg.AssetSpec(
        key=table,
        description=DESCRIPTIONS[topic],
        partitions_def=ledger_day_partitions,
        skippable=True,
        group_name="ledgers",
        kinds={"parquet", "duckdb"},
        metadata={
            "dagster/column_schema": dagster_table_schema(include_gdpr=False),
            "dagster/table_name": f"warehouse.main.{table}",
        },
    )


def ledger_materialization(fetched: FetchedDay, source: str) -> dg.AssetMaterialization:
    table = TABLE_OF_TOPIC[fetched.topic]
    amounts = dict(sorted(fetched.amount_by_entry_type.items()))
    return dg.AssetMaterialization(
        asset_key=table,
        partition=fetched.day.key,
        description=f"{'OPEN, incomplete' if fetched.is_open else 'closed'} ledger date, from the {source}",
        metadata={
            "dagster/row_count": fetched.rows,
            "dagster/table_name": f"warehouse.main.{table}",
            "is_open": fetched.is_open,
            "ledger_date_status": "open (more can land; fetched again later)" if fetched.is_open else "closed",
            "source": source,
            "pages_fetched": fetched.pages,
            "bytes_fetched": fetched.bytes_fetched,
            "currency": fetched.currency or "",
            "amount_total": sum(amounts.values()),
            "amount_by_entry_type": dg.MetadataValue.json(amounts),
            "opening_balance": fetched.opening_balance if fetched.opening_balance is not None else 0,
            "closing_balance": fetched.closing_balance if fetched.closing_balance is not None else 0,
            "unknown_entry_types": dg.MetadataValue.json(fetched.unknown_entry_types),
            "parquet_path": dg.MetadataValue.path(str(fetched.path)),
        },
    )


SUMMARY_PLOTS = {  # numeric metadata the asset's plots show across partitions
    "daily_fee_summary": ("captured_amount", "capture_fees", "effective_fee_rate"),
    "daily_payout_summary": ("captured_amount", "fees_retained", "payout_amount", "closing_balance"),
    "payouts": ("amount", "captured_amount", "capture_fees_matched"),
}


def markdown_row(row: dict[str, Any]) -> str:
    shown = {k: v for k, v in row.items() if k not in ("ledger_id", "ledger_date")}
    return "| field | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in shown.items())


def summary_materializations(table: str, rows: Any, paths: dict[tuple[str, str], Any],
                             source: str) -> Iterator[dg.AssetMaterialization]:
    for row in rows.to_pylist():
        key = (row["ledger_id"], row["ledger_date"].isoformat())
        metadata: dict[str, Any] = {
            name: float(row[name] or 0) if name == "effective_fee_rate" else int(row[name] or 0)
            for name in SUMMARY_PLOTS[table]
        }
        metadata.update({
            "is_final": bool(row["is_final"]), "source": source, "currency": row.get("currency") or "",
            "the_day": dg.MetadataValue.md(markdown_row(row)),
            "dagster/table_name": f"warehouse.main.{table}",
        })
        if key in paths:
            metadata["parquet_path"] = dg.MetadataValue.path(str(paths[key]))
        yield dg.AssetMaterialization(asset_key=table, partition=LedgerDay(key[1], key[0]).key, metadata=metadata,
                                      description="final" if row["is_final"] else "not final yet")


SUMMARY_DESCRIPTIONS = {
    "daily_fee_summary": "What each ledger-day cost in fees: capture and service fees, corrections, credit notes, "
                         "fees retained or invoiced, the day's captured amount and the effective fee rate.",
    "daily_payout_summary": "Where each ledger-day's money went: captures, refunds, disputes, fees retained, "
                            "corrections, top-ups, the payout scheduled and what stays unpaid.",
    "payouts": "One row per payout, partitioned by the ledger date it was scheduled: the ledger dates it covers "
               "and what it is made of, so a bank transfer can be explained line by line.",
}


def summary_spec(table: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=table, description=SUMMARY_DESCRIPTIONS[table], partitions_def=ledger_day_partitions, skippable=True,
        deps=["funds_ledger", "fees_ledger"], group_name="summaries", kinds={"parquet", "duckdb"},
        metadata={"dagster/column_schema": table_schema(table), "dagster/table_name": f"warehouse.main.{table}"},
    )


# ERROR checks block by our own hand: a failing ledger-day gets no summaries, and the run fails without
# a retry (Dagster's blocking flag would have the step retried, and wrong data stays wrong).
CHECK_SPECS = [dg.AssetCheckSpec(check.name, asset=check.asset, description=check.description)
               for check in ALL_CHECKS]


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
                "first_failures": dg.MetadataValue.md("\n".join(f"- {f[1]}|{f[0]}: {f[2]}" for f in found[:20])
                                                      or "none"),
            },
        )


ENV_STEP_RETRIES = "REPORT_ASSETS_STEP_RETRIES"
STEP_RETRIES = int(os.environ.get(ENV_STEP_RETRIES, "2"))


class LedgerRunConfig(dg.Config):
    skip_closed: bool = Field(
        default=False,
        description="Skip ledger-days already stored as closed (closed dates are immutable) or not yet begun "
                    "in their ledger's time zone. The hourly "
                    "schedule sets this; a backfill from the UI fetches everything it is asked for.",
    )


@dg.multi_asset(
    name="ledger_entries",
    specs=[ledger_spec("funds"), ledger_spec("fees"), *(summary_spec(t) for t in SUMMARY_TABLES)],
    check_specs=CHECK_SPECS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # Transient trouble that outlasted the client's own retries, or a step process that died: try the step
    # again later. Re-fetching is safe, the data is immutable and every ledger-day is replaced whole.
    retry_policy=dg.RetryPolicy(max_retries=STEP_RETRIES, delay=60, backoff=dg.Backoff.EXPONENTIAL,
                                jitter=dg.Jitter.PLUS_MINUS) if STEP_RETRIES else None,
    pool="report_assets_warehouse",
)
def ledger_entries(context: dg.AssetExecutionContext, config: LedgerRunConfig, report_api: ReportApiResource,
                   data_dir: DataDirResource) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    topics = [t for t, table in TABLE_OF_TOPIC.items() if table in selected]
    wanted_summaries = [t for t in SUMMARY_TABLES if t in selected]
    days = sorted(LedgerDay.from_key(key) for key in context.partition_keys)
    if config.skip_closed:
        timezones = timezones_of(data_dir.data_dir().ledger_catalog, sorted({d.ledger_id for d in days}),
                                 ledger_dates.timezone)
        due = set(due_ledger_days(context.instance, [day.key for day in days], timezones, datetime.now(UTC)))
        context.log.info(f"Skipping {len(days) - len(due)} ledger-day(s) stored closed or not yet begun in their "
                         f"ledger's time zone; fetching {len(due)}.")
        days = [day for day in days if day.key in due]
    source = report_api.source
    failures: dict[DataCheck, list[Failure]] = {}
    failed: list[FailedDay] = []
    try:
        # Each batch's events are yielded once it is stored. (context.log_event would also write them at
        # once, but keeps every event in the step's memory until the step ends: 7,300 for a year of ten.)
        for outcome in run_ledger_step(context, topics, wanted_summaries, days, report_api, data_dir.data_dir()):
            if isinstance(outcome, FailedDay):
                failed.append(outcome)
                continue
            for check, found in outcome.failures.items():
                failures.setdefault(check, []).extend(found)
            yield from batch_materializations(outcome, wanted_summaries, source)
    except (ReportApiError, MixedSourcesError, WarehouseLockedError) as exc:
        # Only an API that stayed unavailable, or a warehouse that stayed locked, is worth a later retry.
        raise dg.Failure(description=str(exc),
                         allow_retries=isinstance(exc, ApiUnavailableError | WarehouseLockedError)) from exc
    yield from check_results(context, failures, len(days))
    wrong = sorted({f"{c.asset}.{c.name}" for c, found in failures.items() if c.blocking and found})
    if failed or wrong:
        lines = [f"{TABLE_OF_TOPIC[f.topic]} {f.day.key}: {f.error}" for f in failed[:20]]
        raise dg.Failure(
            allow_retries=any(f.transient for f in failed),  # a bad page stays bad: retrying cannot help
            description=(f"{len(failed)} ledger-day(s) failed and were not stored; the others were. Re-run the "
                         "failed partitions. " if failed else "")
            + (f"Checks found wrong data ({', '.join(wrong)}): those ledger-days got no summaries. " if wrong else "")
            + ("First failures:\n" + "\n".join(lines) if lines else ""),
            metadata={"failed_partitions": dg.MetadataValue.json(sorted({f.day.key for f in failed}))},
        )


def run_ledger_step(context: dg.AssetExecutionContext, topics: list[str], wanted_summaries: list[str],
                    days: list[LedgerDay], report_api: ReportApiResource,
                    data: DataDir) -> Iterator[BatchOutcome | FailedDay]:
    """Fetches the selected ledgers (then summarizes), or only recomputes the selected summaries."""
    source = report_api.source
    if topics:
        if source == SIMULATOR:
            context.log.warning("No Report API credentials are set: fetching from the SIMULATOR, not production.")
        context.log.info(f"Fetching {len(topics)} topic(s) x {len(days)} ledger-day(s) with "
                         f"{report_api.max_connections} connections from the {source}")
        options = IngestOptions(source=source, include_gdpr=report_api.include_gdpr_data,
                                workers=report_api.max_connections, with_summaries=bool(wanted_summaries))
        with report_api.client() as client:
            yield from ingest(client, data, topics, days, options, context.log.warning)
    elif wanted_summaries:
        yield summarize_stored(data, [(d.ledger_id, d.ledger_date) for d in days], context.log.warning)


def batch_materializations(batch: BatchOutcome, wanted_summaries: list[str],
                           source: str) -> Iterator[dg.AssetMaterialization]:
    """One materialization per ledger-day and asset that the batch stored."""
    for fetched in batch.fetched:
        yield ledger_materialization(fetched, source)
    for table in wanted_summaries:
        if table in batch.summaries:
            yield from summary_materializations(table, batch.summaries[table], batch.summary_paths.get(table, {}),
                                                source)
    if "payouts" in wanted_summaries:  # a ledger-day without a payout is computed too: it has none
        paid = {(r["ledger_id"], r["ledger_date"].isoformat()) for r in batch.summaries.get(
            "payouts", pa.table({"ledger_id": [], "ledger_date": []})).to_pylist()}
        for ledger_id, day in batch.summarized:
            if (ledger_id, day) not in paid:
                yield dg.AssetMaterialization(
                    asset_key="payouts", partition=f"{day}|{ledger_id}", description="no payout this ledger date",
                    metadata={"dagster/row_count": 0, "amount": 0, "source": source})
