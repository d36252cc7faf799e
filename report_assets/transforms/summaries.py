"""Daily fee and payout summaries, payouts, and the data checks, computed in DuckDB from SQL files.

Everything here works on the ledger-days registered as ``slice_keys``, so one ledger-day can be
recomputed alone and a backfill batch is computed in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pyarrow as pa

from report_assets.core.checks import Check, Finding
from report_assets.core.money import money_macro_sql
from report_assets.core.setting_names import ENV_FRESHNESS_DAYS
from report_assets.core.sql_files import quote_literal, sql_in
from report_assets.lake.schema import TABLE_OF_TOPIC
from report_assets.lake.summary_columns import COLUMNS
from report_assets.report_api.entry_schema import FEES_ENTRY_TYPES, FUNDS_ENTRY_TYPES, PAYOUT_ENTRY_TYPES
from report_assets.transforms.accounts import AccountMap
from report_assets.transforms.journal import compute_journal_lines
from report_assets.warehouse import database
from report_assets.warehouse.database import registered, slice_keys, transaction

sql = sql_in(__file__)

SUMMARY_TABLES = ("daily_fee_summary", "daily_payout_summary", "payouts", "journal_lines")
SUMMARY_SORT_KEYS = {"daily_fee_summary": ("ledger_id",), "daily_payout_summary": ("ledger_id",),
                     "payouts": ("ledger_id", "payout_number"),
                     "journal_lines": ("ledger_id", "line")}  # within one ledger date's file
# Recomputed with a ledger-day: the day before (its captures' fees may land today) and the week after
# (a payout there may cover today).
DAYS_BEFORE, DAYS_AFTER = 1, 7


def sql_list(values: object) -> str:
    return ", ".join(quote_literal(v) for v in sorted(values))  # type: ignore[call-overload]


FEE_LAG_DAYS = 7  # how many ledger dates after its capture a capture fee is looked for
SQL_LISTS = {
    "known_funds_types": sql_list(FUNDS_ENTRY_TYPES),
    "known_fees_types": sql_list(FEES_ENTRY_TYPES),
    "payout_types": sql_list(PAYOUT_ENTRY_TYPES),
    "fee_lag_days": str(FEE_LAG_DAYS),
}
# The one rule matching a capture to its capture fee, shared by the fee summary and the payouts:
SQL_LISTS["capture_fee_of_capture"] = "\n" + sql("capture_fee_of_capture", **SQL_LISTS)


def with_neighbours(connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The keys plus the stored ledger-days whose summaries they can change."""
    asked = set(keys)
    wanted = set(asked)
    for ledger_id, day in keys:
        d = date.fromisoformat(day)
        wanted.update((ledger_id, (d + timedelta(days=n)).isoformat()) for n in range(-DAYS_BEFORE, DAYS_AFTER + 1))
    dates = sorted(day for _, day in wanted)
    stored = {(r[0], r[1].isoformat()) for r in connection.execute(
        "SELECT DISTINCT ledger_id, ledger_date FROM ledger_day_status WHERE ledger_date BETWEEN $first AND $last",
        {"first": dates[0], "last": dates[-1]}).fetchall()}
    return sorted(k for k in wanted if k in stored or k in asked)


def compute(connection: duckdb.DuckDBPyConnection, table: str, keys: list[tuple[str, str]],
            account_map: AccountMap) -> pa.Table:
    """A summary's rows, with money as Int64 minor units."""
    parameters = {}
    if table == "payouts":  # bound what the payout periods scan: the table grows with every backfilled day
        first, last = min(k[1] for k in keys), max(k[1] for k in keys)
        since = connection.sql(sql("payout_window", **SQL_LISTS), params={"first": first}).fetchall()[0][0]
        parameters = {"since": since, "last": last}
    if table == "journal_lines":
        rows = compute_journal_lines(connection, account_map, SQL_LISTS["payout_types"])
    else:
        rows = connection.sql(sql(table, **SQL_LISTS), params=parameters or None).to_arrow_table()
    return with_int64_integers(rows)


def with_int64_integers(rows: pa.Table) -> pa.Table:
    """DuckDB sums integers as 128-bit decimals: cast back, so money stays Int64 minor units everywhere."""
    return rows.cast(pa.schema([
        pa.field(f.name, pa.int64()) if pa.types.is_decimal(f.type) or pa.types.is_integer(f.type) else f
        for f in rows.schema
    ]))


def replace_summary(connection: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Replaces the summary rows of the registered ledger-days (``slice_keys``), in one transaction."""
    with registered(connection, "summary_rows", rows):
        connection.execute(sql("create_summary_table", table=table))
        with transaction(connection):
            connection.execute(database.sql("delete_slices", table=table))
            connection.execute(sql("insert_summary_rows", table=table))


@dataclass(frozen=True)
class Rules:
    """What the summaries and checks take from the settings (read once, by the caller): the account map the journal
    books with, and the days a ledger may go without a closed date before ``fresh_closed_dates`` warns."""

    account_map: AccountMap
    freshness_days: int


def summarize(connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]],
              rules: Rules) -> tuple[dict[str, pa.Table], list[tuple[str, str]]]:
    """Recomputes the summaries of ``keys`` and of their stored neighbours; returns every recomputed row and
    the ledger-days recomputed (a ledger-day without a payout has no payouts row, yet was recomputed)."""
    recomputed = with_neighbours(connection, keys)
    with registered(connection, "slice_keys", slice_keys(recomputed)):
        tables = {table: compute(connection, table, recomputed, rules.account_map) for table in SUMMARY_TABLES}
        for table, rows in tables.items():
            replace_summary(connection, table, rows)
            database.comment_columns(connection, table, COLUMNS[table])
    return tables, recomputed


# -- checks --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataCheck(Check):
    """A check of stored ledger-days, run in the warehouse by ``sql/checks/<name>.sql``; ``topic`` for a check of
    one topic's table."""

    topic: str | None = None


def raw_checks() -> list[DataCheck]:
    checks = []
    for topic, table in TABLE_OF_TOPIC.items():
        checks += [
            DataCheck(table, "balance_arithmetic", True,
                      "balance_after = balance_before + amount on every entry", topic),
            DataCheck(table, "chain_within_day", True,
                      "each entry starts where the previous one of its ledger-day ended", topic),
            DataCheck(table, "chain_from_previous_day", True,
                      "each ledger-day opens where the previous closed day closed", topic),
            DataCheck(table, "no_duplicates", True, "no entry stored twice", topic),
            DataCheck(table, "one_currency", True, "one currency per ledger", topic),
            DataCheck(table, "unknown_entry_types", False,
                      "entry types NOTES.md does not list (booked by amount, reported)", topic),
        ]
    checks += [
        DataCheck("funds_ledger", "fresh_closed_dates", False,
                  f"each ledger has a closed ledger date in the last {ENV_FRESHNESS_DAYS} days (default 5)"),
        DataCheck("funds_ledger", "payout_last", True,
                  "payout-scheduled is the last entry of its day and leaves no negative balance"),
        DataCheck("funds_ledger", "fees_retained_mirror", True,
                  "fees-retained on funds mirrors the fees ledger (same pspReference, opposite amount)"),
    ]
    return checks


SUMMARY_CHECKS = [
    DataCheck("daily_payout_summary", "summary_totals", True,
              "the summary's parts add up to the sum of the raw rows"),
    DataCheck("journal_lines", "journal_balances", True,
              "each ledger-day's journal balances: debits equal credits"),
    DataCheck("journal_lines", "clearing_ties", True,
              "funds_clearing and fees_clearing move by exactly their ledgers' amounts each ledger-day, so their "
              "balances are the ledgers' balances"),
    DataCheck("journal_lines", "suspense_lines", False,
              "no line booked to suspense (an entry type without a booking rule), naming the type"),
]
ALL_CHECKS = [*raw_checks(), *SUMMARY_CHECKS]



def run_checks(connection: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]],
               checks: list[DataCheck], rules: Rules, today: date | None = None) -> dict[DataCheck, list[Finding]]:
    known = {"funds": SQL_LISTS["known_funds_types"], "fees": SQL_LISTS["known_fees_types"]}
    freshness = {"today": (today or date.today()).isoformat(),
                 "freshness_days": str(rules.freshness_days)}
    connection.execute(money_macro_sql())  # the messages say money as people read it
    # One query for all of them: each on its own paid a query's fixed cost in DuckDB, 19 times in every batch
    # stored whatever its size (a date of 10 ledgers: 207.6 ms apart, 160.0 ms as one).
    text = "\nUNION ALL\n".join(
        f"SELECT {index} AS check_index, ledger_id, ledger_date, detail FROM (\n" + sql(
            f"checks/{check.name}", table=TABLE_OF_TOPIC.get(check.topic or "", ""), topic=check.topic or "",
            known_types=known.get(check.topic or "", ""), payout_types=SQL_LISTS["payout_types"], **freshness
        ).rstrip().removesuffix(";") + "\n)"
        for index, check in enumerate(checks)) + "\nORDER BY ALL"  # a union keeps no branch's order
    results: dict[DataCheck, list[Finding]] = {check: [] for check in checks}
    with registered(connection, "slice_keys", slice_keys(keys)):
        for index, ledger_id, ledger_date, detail in connection.execute(text).fetchall() if checks else []:
            results[checks[index]].append(Finding(detail, ledger_id, ledger_date.isoformat()))
    return results
