"""The books that span dates: payouts matched to the bank statement, their arrival journals, and the
month-end statements. One step recomputes all three after the ledger-days are stored (the ledger-day
journals, ``journal_lines``, are date partitions computed with the summaries)."""


from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa

from report_assets.books.build import BOOK_CHECKS, BOOK_TABLES, BooksOutcome, build_books, first_stored_dates
from report_assets.books.statement_view import statement_markdown
from report_assets.defs.check_results import check_spec, first_failures, severity
from report_assets.defs.columns import summary_table_schema
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.settings import Settings
from report_assets.warehouse.database import WarehouseLockedError

DESCRIPTIONS = {
    "bank_matches": "Each payout matched to its credit on the payout account's bank statement (camt.053 files in "
                    "the bank folder), or listed as not arrived with its age in bank days; and each bank line "
                    "that looks like a Vipps MobilePay payout but matches none.",
    "bank_journal_lines": "A payout's arrival on the bank statement as its own journal on the bank's booking date: "
                          "debit bank, credit payouts in transit. Amounts in minor units.",
    "monthly_statement": "One row per ledger and calendar month: opening and closing funds and fees balances, "
                         "movements by role, payouts scheduled, what was in transit at the month end, and the payout "
                         "that carries what the month end held. Minor units; the lake views add major units.",
}
def books_step(settings: Settings) -> dg.AssetsDefinition:
    """The books' step: its bank folder, account map and payout warning as the settings say."""

    @dg.multi_asset(
        name="books",
        specs=[dg.AssetSpec(table, description=DESCRIPTIONS[table], group_name="books", kinds={"parquet", "duckdb"},
                            deps=["journal_lines", "payouts", "daily_payout_summary", "daily_fee_summary"],
                            metadata={"dagster/column_schema": summary_table_schema(table),
                                      "dagster/table_name": f"warehouse.main.{table}"})
               for table in BOOK_TABLES],
        check_specs=[check_spec(check) for check in BOOK_CHECKS],
        # A date range from the CLI (`--select '*'`) is one run: this step is in it, and skipped there (the date
        # step reports materializations, not outputs); the sensor recomputes the books after the run.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="report_assets_warehouse",
    )
    def books(context: dg.AssetExecutionContext, report_api: ReportApiResource,
              data_dir: DataDirResource) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        yield from compute_books(context, report_api, data_dir.data_dir(), settings)

    return books


def compute_books(context: dg.AssetExecutionContext, report_api: ReportApiResource, data: DataDir,
                  settings: Settings) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    try:
        written = report_api.deliver_bank_statements(lambda: first_stored_dates(data), settings.bank_dir, today)
        if written is not None:
            context.log.info(f"The simulator's bank delivered {written} statement file(s) into {settings.bank_dir}.")
        outcome = build_books(data, settings.bank_dir, settings.account_map, today, settings.unpaid_after_days,
                              context.log.warning)
    except WarehouseLockedError as exc:
        raise dg.Failure(description=str(exc), allow_retries=True) from exc
    for table in BOOK_TABLES:
        rows = outcome.tables.get(table)
        yield dg.MaterializeResult(asset_key=table, metadata=book_metadata(table, rows, outcome))
    for check, found in outcome.failures.items():
        yield dg.AssetCheckResult(asset_key=check.asset, check_name=check.name, passed=not found,
                                  severity=severity(check), metadata={
                                      "failures": len(found), "first_failures": first_failures(list(map(str, found)))})


def book_metadata(table: str, rows: pa.Table | None, outcome: BooksOutcome) -> dict[str, object]:
    metadata: dict[str, object] = {"dagster/row_count": rows.num_rows if rows is not None else 0}
    if rows is None or rows.num_rows == 0:
        return metadata
    if table == "bank_matches":
        statuses = rows.group_by("status").aggregate([("status", "count")]).to_pylist()
        metadata |= {f"payouts_{r['status']}": r["status_count"] for r in statuses}
        metadata["bank_lines_read"] = outcome.bank_lines
    if table == "monthly_statement":
        metadata["latest_months"] = dg.MetadataValue.md(latest_statements(rows))
    return metadata


def latest_statements(rows: pa.Table) -> str:
    """The latest month of each ledger, as it adds up (``books.statement_view``)."""
    latest: dict[str, dict] = {}
    for row in rows.to_pylist():
        latest[row["ledger_id"]] = row
    return statement_markdown(list(latest.values()))
