"""The main job: ``python -m report_assets.main_job`` (``make main``).

Reads the ledger list (the simulator's, with no keys set) into the ledger catalog, materializes the
last ledger dates of every tracked ledger in one run, as a single-run backfill from the UI would, with
a progress line per batch, then says what landed, where the data is, and how to open the UI.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import yaml
from dagster._core.instance.ref import InstanceRef

from report_assets.books.build import BOOK_TABLES
from report_assets.books.statement_view import statement_text
from report_assets.core.money import major_units_sql
from report_assets.defs.event_log import runs_dir
from report_assets.defs.resources import SIMULATOR
from report_assets.lake.data_dir import DataDir, MixedSourcesError
from report_assets.lake.ledger_catalog import CATALOG_NAME, TrackingError
from report_assets.lake.schema import TABLE_OF_TOPIC
from report_assets.report_api.errors import ConfigurationError
from report_assets.settings import ENV_START_DATE, PROJECT_ROOT, SettingError, Settings, load_settings
from report_assets.transforms.summaries import SUMMARY_TABLES
from report_assets.warehouse.lake_views import MAJOR_UNITS_SQL, write_lake_views, write_lake_views_script

PROJECT_INSTANCE = PROJECT_ROOT / "data" / "dagster_home"


def open_local_instance() -> dg.DagsterInstance:
    """The instance `make ui` shows: DAGSTER_HOME's, by default the project's, in data/dagster_home, whose
    dagster.yaml is a link to the project's."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"])
    home = PROJECT_INSTANCE
    if not (home / "dagster.yaml").exists():
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").symlink_to(Path("..", "..", "dagster.yaml"))  # as `make ui` links it
    # Without DAGSTER_HOME, the event log's files are named here: its storage would look for them there.
    event_log = (yaml.safe_load((home / "dagster.yaml").read_text()) or {}).get("event_log_storage")
    overrides = {"event_log_storage": {**event_log, "config": {
        **(event_log.get("config") or {}), "base_dir": runs_dir(home)}}} if event_log else None
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


class UsageError(Exception):
    """A command-line option that cannot be used: the message names the option and what is allowed."""


def ledger_dates_asked(args: argparse.Namespace, timezone: str, start_date: str,
                       today: date | None = None) -> list[str]:
    """The ledger dates the options ask for, checked against today (in the partitions' time zone) and the first
    partition; raises ``UsageError`` naming the option."""
    today = today or datetime.now(ZoneInfo(timezone)).date()
    first_allowed = date.fromisoformat(start_date)
    if args.from_date is None:
        first, last = today - timedelta(days=args.days - 1), today
    else:
        first, last = args.from_date, args.to_date or today
    for option, value in (("--from", first), ("--to", last)):
        if value > today:
            raise UsageError(f"{option} {value}: that ledger date has not begun (today is {today} in {timezone}).")
    if first > last:
        raise UsageError(f"--from {first} is after --to {last}.")
    if first < first_allowed:
        option = "--days" if args.from_date is None else "--from"
        raise UsageError(f"{option}: the range starts {first}, before the first partition {start_date} "
                         f"({ENV_START_DATE}); start on or after it, or set {ENV_START_DATE} earlier.")
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


@dataclass
class JobOutcome:
    success: bool
    run_ids: list[tuple[str, str]]  # (what, run ID), in order
    result: dg.ExecuteInProcessResult | None = None  # the last run's, for what failed


class ReportLines(logging.Formatter):
    """A run's log as lines of a report: the time and what the step said (the run IDs are printed at the end)."""

    def format(self, record: logging.LogRecord) -> str:
        text = getattr(record, "dagster_meta", {}).get("orig_message", record.getMessage())
        level = "" if record.levelno < logging.WARNING else f"{record.levelname}: "
        return f"{self.formatTime(record, '%H:%M:%S')} {level}{text}"


def said_by_the_step(record: logging.LogRecord) -> bool:
    """Dagster's note that the check outputs were not yielded: the ledger step records its checks per date
    instead (``defs.ledgers.checks``), so the note says nothing to the reader."""
    return "did not yield or return expected outputs" not in record.getMessage()


@dg.logger(description="INFO and above as lines of a report, on standard error.")
def report_console(_: dg.InitLoggerContext) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ReportLines())
    handler.addFilter(said_by_the_step)
    console = logging.Logger("report_assets.main_job", logging.INFO)
    console.addHandler(handler)
    return console


def run_assets(assets: list[dg.AssetsDefinition], instance: dg.DagsterInstance, resources: dict[str, object],
               selection: list[dg.AssetKey] | None = None, tags: dict[str, str] | None = None,
               run_config: dict[str, object] | None = None) -> dg.ExecuteInProcessResult:
    """``dg.materialize`` with the report's console instead of Dagster's (which shows every event's run ID)."""
    defs = dg.Definitions(jobs=[dg.define_asset_job("main_job", selection=selection)], assets=assets,
                          resources=resources, loggers={"console": report_console})
    return defs.resolve_job_def("main_job").execute_in_process(
        run_config={**(run_config or {}), "loggers": {"console": {}}},  # a job's logger runs only when configured
        instance=instance, tags=tags, raise_on_error=False)


def project_step(project: dg.Definitions, name: str) -> dg.AssetsDefinition:
    """The step ``name`` as the project defines it, before the project's own resources are bound to it."""
    return next(a for a in project.assets or [] if isinstance(a, dg.AssetsDefinition) and a.node_def.name == name)


def recompute_books(instance: dg.DagsterInstance, project: dg.Definitions,
                    resources: dict[str, object]) -> dg.ExecuteInProcessResult:
    books = project_step(project, "books")
    return run_assets([books], instance, resources, selection=[*books.keys])


def store_dates(settings: Settings, project: dg.Definitions, dates: list[str], ledger_ids: list[str], refetch: bool,
                say: Callable[[str], None] = print, books_only: bool = False) -> JobOutcome:
    """Discovers the ledgers, stores ``dates`` of the tracked ones in one run, then recomputes the books in
    another (or only the books), all on one simulator when on the simulator; the outcome holds every run's ID."""
    from report_assets.defs.automation.discovery import catalog_materialization, describe, discover_ledgers

    data_dir = project.resources["data_dir"]
    data = data_dir.data_dir()
    outcome = JobOutcome(True, [])
    with open_local_instance() as instance, project.resources["report_api"].shared() as report_api:
        resources = {"report_api": report_api, "data_dir": data_dir}
        if not books_only:
            update = discover_ledgers(report_api, data, settings, ledger_ids=ledger_ids)  # as the sensor does
            if update.changed:
                instance.report_runless_asset_event(catalog_materialization(update, data))
            listed = [r for r in update.records if r["listed"]]
            say(f"Ledgers these keys can read ({len(listed)}): " + "; ".join(describe(r) for r in listed[:10])
                + (" ..." if len(listed) > 10 else ""))
            say(f"Materializing {len(dates)} ledger dates ({dates[0]} .. {dates[-1]}) from the {report_api.source} "
                f"into {data.root}; ledger-days already stored closed are not fetched again.")
            config = {"ledger_ids": ledger_ids, "refetch": refetch}
            result = run_assets(
                [project_step(project, "ledger_entries")], instance, resources,
                tags={"dagster/asset_partition_range_start": dates[0], "dagster/asset_partition_range_end": dates[-1]},
                run_config={"ops": {"ledger_entries": {"config": config}}})
            outcome = JobOutcome(result.success, [("ledgers", result.run_id)], result)
        if outcome.success:  # the books span dates: recomputed after the ledger-days they depend on
            say("Recomputing the books (bank matches, bank vouchers, monthly statements) ...")
            result = recompute_books(instance, project, resources)
            outcome = JobOutcome(result.success, [*outcome.run_ids, ("books", result.run_id)], result)
    return outcome


def run(settings: Settings, dates: list[str], ledger_ids: list[str], refetch: bool, books_only: bool = False) -> None:
    from report_assets.defs.project import project_definitions

    project = project_definitions(settings)  # credentials, token flow and base URL checked here, before any work
    data = project.resources["data_dir"].data_dir()
    source = project.resources["report_api"].source
    outcome = store_dates(settings, project, dates, ledger_ids, refetch, lambda text: print(text, flush=True),
                          books_only)
    refresh_lake_views(data)
    print_summary(data, outcome, source, settings.bank_dir)
    if not outcome.success:
        assert outcome.result is not None
        print_failures(outcome.result)
        raise SystemExit(1)


def print_failures(result: dg.ExecuteInProcessResult) -> None:
    """What failed and what to do, as the run's failure says it (no traceback: that is in the UI)."""
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_failure_data is not None:
            error = event.step_failure_data.user_failure_data
            text = error.description if error is not None and error.description else \
                (event.step_failure_data.error.message if event.step_failure_data.error else "")
            print(f"\nWhat failed ({event.step_key}):\n{text.strip()}", file=sys.stderr)

LEDGER_OVERVIEW = """
SELECT f.ledger_id, any_value(f.currency) AS currency, count(DISTINCT f.ledger_date) AS ledger_dates,
    count(*) AS entries, {captured} AS captured, {paid} AS scheduled_for_payout,
    count(DISTINCT f.ledger_date) FILTER (WHERE f.is_open) AS open_dates
FROM funds_ledger f GROUP BY f.ledger_id ORDER BY f.ledger_id LIMIT 20
""".format(captured=major_units_sql("sum(amount) FILTER (WHERE entry_type = 'capture')", "any_value(f.currency)"),
           paid=major_units_sql("-sum(amount) FILTER (WHERE entry_type LIKE '%payout%' AND amount < 0)",
                                "any_value(f.currency)"))
PAYOUTS_PREVIEW = """
SELECT ledger_id, currency, payout_number, covers_from, covers_to, {amount} AS amount, {captured} AS captured,
    {fees} AS capture_fees, is_final
FROM payouts ORDER BY ledger_date DESC, ledger_id LIMIT 6
""".format(amount=MAJOR_UNITS_SQL.format(column="amount"), captured=MAJOR_UNITS_SQL.format(column="captured_amount"),
           fees=MAJOR_UNITS_SQL.format(column="capture_fees_matched"))


JOURNAL_PREVIEW = """
SELECT journal_id, line, account, account_role, {debit} AS debit, {credit} AS credit, currency, text
FROM journal_lines
WHERE journal_id = (SELECT max(journal_id) FROM journal_lines WHERE is_final AND ledger_id = (SELECT min(ledger_id)
                    FROM journal_lines))
ORDER BY line
""".format(debit=MAJOR_UNITS_SQL.format(column="debit"), credit=MAJOR_UNITS_SQL.format(column="credit"))
STATEMENT_PREVIEW = """
SELECT * FROM monthly_statement WHERE month = (SELECT max(month) FROM monthly_statement WHERE days_stored >= 7)
ORDER BY ledger_id LIMIT 3
"""
BANK_PREVIEW = """
SELECT ledger_id, status, count(*) AS payouts, max(bank_days_open) AS oldest_open_bank_days
FROM bank_matches GROUP BY ALL ORDER BY ALL LIMIT 20
"""


def print_books(connection: duckdb.DuckDBPyConnection) -> None:
    tables = {row[0] for row in connection.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "journal_lines" in tables:
        print("journal_lines, the latest closed day of the first ledger (debit and credit in major units):")
        connection.sql(JOURNAL_PREVIEW).show(max_width=160)
    if "monthly_statement" in tables:
        print("monthly_statement, the latest month of the first ledgers (each closing balance is the sum of the "
              "lines above it):")
        for statement in connection.sql(STATEMENT_PREVIEW).to_arrow_table().to_pylist():
            print(statement_text(statement))
        print("bank_matches: payouts against the payout accounts' bank statements (camt.053):")
        connection.sql(BANK_PREVIEW).show()


def print_summary(data: DataDir, outcome: JobOutcome, source: str, bank_dir: Path) -> None:
    bank_note = ("the simulator's bank delivers them" if source == SIMULATOR else
                 "put your bank's camt.053 statements of the payout accounts here")
    print()
    for what, run_id in outcome.run_ids:
        print(f"Run {run_id} ({what})")
    print("Succeeded." if outcome.success else "FAILED: see above, or the run in the UI (make ui).")
    if data.warehouse.exists():
        with duckdb.connect(str(data.warehouse), read_only=True) as connection:
            print("\nfunds_ledger per ledger (amounts in major units of the ledger's currency):")
            connection.sql(LEDGER_OVERVIEW).show()
            print("payouts, the latest (amounts in major units):")
            connection.sql(PAYOUTS_PREVIEW).show()
            print_books(connection)
    print(f"""Where the data is:
  Parquet lake     {data.lake.location}/<table>/ledger_date=YYYY-MM-DD/part-0.parquet   (a date's ledgers in one file)
  DuckDB warehouse {data.warehouse}
                   (tables funds_ledger, fees_ledger, daily_fee_summary, daily_payout_summary, payouts,
                   journal_lines, bank_journal_lines, bank_matches, monthly_statement;
                   view ledgers: each ledger's currency, time zone, owner, and whether access is granted)
  Bank statements  {bank_dir}   ({bank_note})
{lake_views_note(data)}
Export a month for the accounting system: make export MONTH=YYYY-MM   (per ledger: journal and statement CSV,
                   an Excel workbook, SAF-T; the month's missing dates are fetched first)
Open the UI: make ui   (runs `dagster dev` here), then browse http://127.0.0.1:3000 -> Assets""")


def lake_views_note(data: DataDir) -> str:
    if not data.lake.is_local:
        return f"""  Lake views       {data.lake_views_script}   (a DuckDB script: the tables as views over the lake)

Query it from a machine with the lake's AWS_* variables set (never in a run's way):
  duckdb lake_views.duckdb -c ".read {data.lake_views_script}"   (DuckDB installs its httpfs extension itself)
  or with Polars: pl.scan_parquet("{data.lake.glob('funds')}").collect()"""
    return f"""  Lake views       {data.lake_views}   (the same tables as views over Parquet; no lock on the warehouse)

Query it (read-only, never in a run's way):
  .venv/bin/python -c "import duckdb; duckdb.connect('{data.lake_views}', read_only=True).sql(
    'SELECT ledger_id, currency, entry_type, count(*), sum(amount_major) FROM funds_ledger GROUP BY ALL').show()\""""


def refresh_lake_views(data: DataDir) -> None:
    """The lake views database, rewritten; an analyst holding it open only means it is left as it was. For a
    lake in an object store, the script that builds them on an analyst's machine (``write_lake_views_script``)."""
    lake = data.lake
    datasets = {table: topic for topic, table in TABLE_OF_TOPIC.items()} | {t: t for t in SUMMARY_TABLES}
    wholes = [table for table in (*BOOK_TABLES, CATALOG_NAME) if lake.has_table(table)]
    globs = {table: lake.glob(dataset) for table, dataset in datasets.items()} \
        | {table: lake.table_uri(table) for table in wholes}
    if not lake.is_local:
        columns = {table: lake.columns_of(datasets.get(table, table)) for table in globs}
        write_lake_views_script(data.lake_views_script, lake.location, globs, columns, os.environ)
        return
    try:
        write_lake_views(data.lake_views, globs)
    except duckdb.IOException:
        print(f"(left {data.lake_views} as it was: a session has it open; its views find new files by themselves)")


def whole_days(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 3660:
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a whole number of ledger dates from 1 to 3660")
    return int(raw)


def iso_date(raw: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a ledger date as YYYY-MM-DD, e.g. 2026-01-31") from None


def ledger_id(raw: str) -> str:
    if not raw.isdigit():
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a ledger ID, digits only (e.g. 302321)")
    return raw


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m report_assets.main_job",
        description="Materialize the last ledger dates of every tracked ledger (the simulator's when no "
                    "REPORT_API_* keys are set) into the Parquet lake and the DuckDB warehouse, in one run.")
    dates = parser.add_mutually_exclusive_group()
    dates.add_argument("--days", type=whole_days, default=14,
                       help="the last N ledger dates, ending today in the partitions' time zone (default 14)")
    dates.add_argument("--from", dest="from_date", type=iso_date, metavar="YYYY-MM-DD",
                       help="the first ledger date instead (not before REPORT_ASSETS_START_DATE)")
    parser.add_argument("--to", dest="to_date", type=iso_date, metavar="YYYY-MM-DD",
                        help="with --from: the last ledger date (default today)")
    parser.add_argument("--ledger", action="append", default=[], metavar="LEDGER_ID", type=ledger_id,
                        help="only this ledger (repeatable); default: every tracked ledger")
    parser.add_argument("--books", action="store_true",
                        help="only recompute the books (bank matches, bank vouchers, statements) from what is stored")
    parser.add_argument("--refetch", action="store_true",
                        help="fetch ledger-days already stored closed again (default: only what is missing or open)")
    args = parser.parse_args(argv)
    if args.to_date is not None and args.from_date is None:
        parser.error("--to needs --from")
    try:
        settings = load_settings()
        dates = ledger_dates_asked(args, settings.timezone, settings.start_date)
        run(settings, dates, args.ledger, args.refetch, books_only=args.books)
    except UsageError as exc:
        parser.error(str(exc))
    except (SettingError, ConfigurationError, MixedSourcesError, TrackingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
