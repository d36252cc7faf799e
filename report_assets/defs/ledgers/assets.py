"""The ledgers, their summaries and checks: one asset step, one partition per ledger date.

``funds_ledger`` and ``fees_ledger`` hold one row per entry; ``daily_fee_summary``,
``daily_payout_summary``, ``payouts`` and ``journal_lines`` are computed from them. Each date partition holds that date
for every tracked ledger. One step does it all (for whatever subset is selected) over one pool of
connections, so a backfill of a year is one run, and the summaries follow in the same run. By default
a run fetches only what is not stored closed, so re-running a date, or the whole history, repairs.
"""


from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from report_assets.core.checks import Finding
from report_assets.defs.columns import ledger_table_schema, summary_table_schema
from report_assets.defs.ledgers.checks import CHECK_SPECS, batch_evaluations
from report_assets.defs.ledgers.metadata import date_materializations
from report_assets.defs.resources import SIMULATOR, DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir, MixedSourcesError
from report_assets.lake.ledger_catalog import (
    TrackingError,
    ledgers_for_run,
    read_catalog,
    refresh_catalog,
    tracked_ledgers,
)
from report_assets.lake.schema import TABLE_OF_TOPIC
from report_assets.lake.store import LakeStoreError
from report_assets.pipeline.ingest_process import IngestChild, IngestionDiedError, ingest, prestart
from report_assets.pipeline.ingestion import BatchOutcome, DateOutcome, IngestOptions, WriteHooks, summarize_stored
from report_assets.pipeline.planning import DatePlan, plan_dates
from report_assets.pipeline.run_failure import run_failure
from report_assets.report_api import ReportApiClient
from report_assets.report_api.errors import ApiUnavailableError, ReportApiError
from report_assets.settings import Settings, rules_of
from report_assets.transforms.summaries import SUMMARY_TABLES, DataCheck
from report_assets.warehouse.database import WarehouseLockedError

DESCRIPTIONS = {
    "funds": "The funds ledger: what Vipps MobilePay owes the merchant. Captures, refunds, fees retained, "
             "disputes, corrections and the scheduled payouts, one row per entry, amounts in minor units. "
             "A partition is one ledger date of every tracked ledger.",
    "fees": "The fees ledger: what the merchant owes Vipps MobilePay. Capture fees, service fees, credit notes, "
            "and the retained or invoiced totals, one row per entry, amounts in minor units. "
            "A partition is one ledger date of every tracked ledger.",
}
SUMMARY_DESCRIPTIONS = {
    "daily_fee_summary": "What each ledger-day cost in fees: capture and service fees, corrections, credit notes, "
                         "fees retained or invoiced, the day's captured amount and the effective fee rate.",
    "daily_payout_summary": "Where each ledger-day's money went: captures, refunds, disputes, fees retained, "
                            "corrections, top-ups, the payout scheduled and what stays unpaid.",
    "payouts": "One row per payout, partitioned by the ledger date it was scheduled: the ledger dates it covers "
               "and what it is made of, so a bank transfer can be explained line by line.",
    "journal_lines": "Double-entry journal lines: one balanced journal per ledger-day, the day's entries aggregated "
                     "by type onto the accounts of the account map (README 'Booking'). Amounts in minor units.",
}
SUMMARY_GROUPS = {"journal_lines": "books"}


def ledger_spec(topic: str, dates: dg.PartitionsDefinition) -> dg.AssetSpec:
    table = TABLE_OF_TOPIC[topic]
    return dg.AssetSpec(
        key=table, description=DESCRIPTIONS[topic], partitions_def=dates, skippable=True,
        group_name="ledgers", kinds={"parquet", "duckdb"},
        metadata={"dagster/column_schema": ledger_table_schema(include_gdpr=False),
                  "dagster/table_name": f"warehouse.main.{table}"},
    )


def summary_spec(table: str, dates: dg.PartitionsDefinition) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=table, description=SUMMARY_DESCRIPTIONS[table], partitions_def=dates, skippable=True,
        deps=["funds_ledger", "fees_ledger"], group_name=SUMMARY_GROUPS.get(table, "summaries"),
        kinds={"parquet", "duckdb"},
        metadata={"dagster/column_schema": summary_table_schema(table),
                  "dagster/table_name": f"warehouse.main.{table}"},
    )


class LedgerRunConfig(dg.Config):
    ledger_ids: list[str] = Field(
        default_factory=list,
        description="Only these ledgers (IDs of tracked ledgers), e.g. [\"302321\"] to re-run one ledger-day; "
                    "empty: every tracked ledger.",
    )
    refetch: bool = Field(
        default=False,
        description="Fetch ledger-days already stored closed again too. By default a run fetches only what is "
                    "missing, open or failed: closed ledger dates are immutable.",
    )


def ledger_step(settings: Settings, dates: dg.DailyPartitionsDefinition,
                hooks: WriteHooks | None = None) -> dg.AssetsDefinition:
    """The step, as the settings shape it (its partitions, backfill and retry policies, what it fetches);
    ``hooks``: a test's, stepping into the writes."""

    @dg.multi_asset(
        name="ledger_entries",
        specs=[*(ledger_spec(topic, dates) for topic in TABLE_OF_TOPIC),
               *(summary_spec(table, dates) for table in SUMMARY_TABLES)],
        check_specs=CHECK_SPECS,
        can_subset=True,
        # A backfill is one run by default; on an instance whose runs go to many machines, runs of N dates each,
        # which the run queue and the warehouse pool pace (REPORT_ASSETS_BACKFILL_DATES_PER_RUN).
        backfill_policy=dg.BackfillPolicy.multi_run(settings.backfill_dates_per_run)
        if settings.backfill_dates_per_run else dg.BackfillPolicy.single_run(),
        # Transient trouble that outlasted the client's own retries, or a step process that died: try the step
        # again later. It fetches only what is still missing, and every ledger-day is replaced whole.
        retry_policy=dg.RetryPolicy(max_retries=settings.step_retries, delay=60, backoff=dg.Backoff.EXPONENTIAL,
                                    jitter=dg.Jitter.PLUS_MINUS) if settings.step_retries else None,
        pool="report_assets_warehouse",
    )
    def ledger_entries(context: dg.AssetExecutionContext, config: LedgerRunConfig, report_api: ReportApiResource,
                       data_dir: DataDirResource) -> Iterator[dg.AssetMaterialization]:
        yield from run_step(context, config, report_api, data_dir.data_dir(), StepSettings(settings, hooks))

    return ledger_entries


@dataclass(frozen=True)
class StepSettings:
    """What the step takes from the project's settings, and a test's hooks."""

    settings: Settings
    hooks: WriteHooks | None


def run_step(context: dg.AssetExecutionContext, config: LedgerRunConfig, report_api: ReportApiResource,
             data: DataDir, step: StepSettings) -> Iterator[dg.AssetMaterialization]:
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    topics = [t for t, table in TABLE_OF_TOPIC.items() if table in selected]
    summaries = [t for t in SUMMARY_TABLES if t in selected]
    dates = sorted(context.partition_keys)
    failures: dict[DataCheck, list[Finding]] = {}
    outcomes: list[DateOutcome] = []
    options = ingest_options(topics, summaries, report_api, step)
    try:
        catalog = read_catalog(data.lake)
        with report_api.client() as client, early_child(client, data, options, catalog, config, step, dates) as child:
            timezones = run_ledgers(client, data, config, report_api, step, context.log, catalog)
            plans = plan_dates(dates, timezones, data.status.states(dates[0], dates[-1]), datetime.now(UTC),
                               config.refetch)
            for batch in run_ledger_step(context, client, data, options, summaries, plans, report_api, step, child):
                for check, found in batch.failures.items():
                    failures.setdefault(check, []).extend(found)
                for outcome in batch.dates:
                    outcomes.append(outcome)
                    yield from date_materializations(outcome, topics, summaries, data.lake,
                                                     report_api.source, batch.figures)
                for evaluation in batch_evaluations(context.selected_asset_check_keys, batch, data):
                    context.log_event(evaluation)
                log_progress(context, batch, outcomes, len(plans))
    except (ReportApiError, MixedSourcesError, WarehouseLockedError, TrackingError, IngestionDiedError) as exc:
        # Only an API that stayed unavailable, a warehouse that stayed locked, or a worker that died (killed,
        # out of memory) is worth a later retry.
        raise dg.Failure(description=str(exc), allow_retries=isinstance(
            exc, ApiUnavailableError | WarehouseLockedError | IngestionDiedError)) from exc
    except LakeStoreError as exc:  # the object store stayed down for longer than its retries: worth a later retry
        raise dg.Failure(allow_retries=True, description=(
            f"The lake's object store stayed unavailable during this run of ledger dates {dates[0]} to {dates[-1]}: "
            f"{exc} The dates stored before it stay whole (a file is replaced whole or not at all); re-run these "
            f"dates once the store answers.")) from exc
    if any(o.stored_closed or o.stored_open for o in outcomes):
        context.log_event(books_now_older(dates))
    raise_for_failures(outcomes, failures)


def books_now_older(dates: list[str]) -> dg.AssetObservation:
    """Said on the books' statement in the UI: ledger-days were stored after the books were computed. The sensor
    recomputes them within a minute when the daemon runs; this says so where nothing follows."""
    return dg.AssetObservation(asset_key="monthly_statement", metadata={
        "books_older_than_ledgers_since": dg.MetadataValue.timestamp(datetime.now(UTC)),
        "ledger_dates_stored": f"{dates[0]} to {dates[-1]}",
        "brings_them_up_to_date": "the sensor books_after_ledger_runs (with the daemon: make ui); without a daemon: "
                                  "make books, or Materialize the books group",
    })


def ingest_options(topics: list[str], summaries: list[str], report_api: ReportApiResource,
                   step: StepSettings) -> IngestOptions | None:
    """How the run fetches and stores, if it fetches at all (it may only recompute summaries)."""
    if not topics:
        return None
    return IngestOptions(source=report_api.source, rules=rules_of(step.settings), topics=tuple(topics),
                         include_gdpr=report_api.include_gdpr_data, workers=report_api.max_connections,
                         with_summaries=bool(summaries), warehouse_batch=step.settings.warehouse_batch,
                         in_process_up_to=step.settings.in_process_up_to,
                         fetch_processes=step.settings.fetch_processes, hooks=step.hooks or WriteHooks())


def early_child(client: ReportApiClient, data: DataDir, options: IngestOptions | None,
                catalog: dict[str, dict[str, Any]], config: LedgerRunConfig, step: StepSettings,
                dates: list[str]) -> AbstractContextManager[IngestChild | None]:
    """The ingest child a run this large may want, started before the ledger list, token and plans (``prestart``):
    the run fetches at most its ledgers (those named, else those tracked) on each of its dates."""
    if options is None:
        return nullcontext()
    ledgers = len(config.ledger_ids) or len(tracked_ledgers(catalog, step.settings.ledger_ids)) or None
    return prestart(client.settings, data, options, ledgers and ledgers * len(dates), len(dates))


def run_ledgers(client: ReportApiClient, data: DataDir, config: LedgerRunConfig, report_api: ReportApiResource,
                step: StepSettings, log: dg.DagsterLogManager, catalog: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The ledgers this run covers (of ``catalog``, as read at its start), with their time zones. With no catalog
    yet (a first run from the CLI), the run reads the ledger list itself, as the discovery sensor would."""
    report_api.claim(data, client)
    if not catalog:
        log.info("No ledger catalog yet: reading the ledger list.")
        refresh_catalog(client.list_ledgers(), data.lake, step.settings.timezone, datetime.now(UTC),
                        step.settings.ledger_timezones)
        catalog = read_catalog(data.lake)
    return ledgers_for_run(catalog, step.settings.ledger_ids, config.ledger_ids)


def run_ledger_step(context: dg.AssetExecutionContext, client: ReportApiClient, data: DataDir,
                    options: IngestOptions | None, summaries: list[str], plans: list[DatePlan],
                    report_api: ReportApiResource, step: StepSettings,
                    child: IngestChild | None) -> Iterator[BatchOutcome]:
    """Fetches the selected ledgers (then summarizes), or only recomputes the selected summaries."""
    due = sum(len(p.fetch) for p in plans)
    skipped = sum(len(p.skipped_closed) for p in plans)
    if options is not None:
        if report_api.source == SIMULATOR:
            context.log.warning("No Report API credentials are set: fetching from the SIMULATOR, not production.")
        context.log.info(f"{len(plans)} ledger date(s): fetching {due} ledger-day(s), skipping {skipped} already "
                         f"stored closed, with {report_api.max_connections} connections from the {report_api.source}")
        yield from ingest(client, data, plans, options, context.log.warning, child)
    elif summaries:
        keys = [(i, p.ledger_date) for p in plans for i in [*p.fetch, *p.skipped_closed]]
        batch = summarize_stored(data, keys, rules_of(step.settings), context.log.warning)
        batch.dates = [DateOutcome(p.ledger_date, skipped_closed=[*p.fetch, *p.skipped_closed]) for p in plans]
        yield batch


def log_progress(context: dg.AssetExecutionContext, batch: BatchOutcome, outcomes: list[DateOutcome],
                 total_dates: int) -> None:
    if not batch.dates:
        return
    stored = sum(len(o.stored_closed) + len(o.stored_open) for o in batch.dates)
    failed = sum(len(o.failed) for o in batch.dates)
    context.log.info(f"{len(outcomes)}/{total_dates} dates done (up to {batch.dates[-1].ledger_date}): this batch "
                     f"stored {stored} ledger-day(s), {failed} failed")


def raise_for_failures(outcomes: list[DateOutcome], failures: dict[DataCheck, list[Finding]]) -> None:
    """After everything else is stored and reported: a run with failed ledger-days, or wrong data, fails."""
    failure = run_failure(outcomes, failures)
    if failure is not None:
        raise dg.Failure(
            description=failure.description(),
            allow_retries=failure.transient,  # a bad page stays bad: retrying cannot help
            metadata={"failed_ledger_days": dg.MetadataValue.json(failure.failed_ledger_days)},
        )
