"""The books beyond the ledger-day journals: payouts matched to the bank, their arrival journals, and the
month-end statements, each recomputed whole from the warehouse and the bank folder.

They span dates (a payout lands days after its ledger date, a statement covers a month), so they are
not date partitions: one step recomputes them after the ledger-days it depends on are stored. A bank statement
that cannot be read is set aside: the check ``bank_files_readable`` names it, the payouts it could hold say
``statement_unreadable``, and the rest is computed as usual. The warehouse tables are replaced in one
transaction, then their lake files, each atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from report_assets.books.camt053 import BankFolder, read_bank_folder
from report_assets.core.bank_accounts import COUNTRY_OF_CURRENCY, account_country, account_key
from report_assets.core.bank_days import bank_day_numbers
from report_assets.core.checks import Check, Finding
from report_assets.core.money import money_text
from report_assets.core.sql_files import sql_in
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import read_catalog
from report_assets.lake.parquet_lake import ParquetLake
from report_assets.transforms.accounts import AccountMap
from report_assets.transforms.journal import account_rows
from report_assets.transforms.summaries import SQL_LISTS, with_int64_integers
from report_assets.warehouse.database import open_for_write, registered, transaction

sql = sql_in(__file__)
BOOK_TABLES = ("bank_matches", "bank_journal_lines", "monthly_statement")
MATCH_WINDOW_DAYS = 30  # a bank line more than this many days after a payout's ledger date is not its arrival
HISTORY_MARGIN_DAYS = 10  # a payout lands within this many days (T+2, or a week late): bank lines earlier than the
# first stored ledger date plus this may be payouts from before the stored history
# The roles a monthly statement shows the movement of, signed by their effect on what the merchant is owed.
STATEMENT_ROLES = ("sales", "refunds", "fee_expense", "disputes", "corrections", "top_up", "credit_notes",
                   "fees_invoiced", "suspense")
# Every column the statement's sum adds: opening balances + these + moved_on_missing_dates = closing balances.
STATEMENT_MOVEMENTS = (*STATEMENT_ROLES, "payouts_scheduled", "payouts_aborted")
NEEDED = ("payouts", "journal_lines", "daily_payout_summary", "daily_fee_summary", "funds_ledger",
          "ledger_day_status")


BOOK_CHECKS = (
    Check("bank_matches", "bank_amounts_match", True, "a payout's bank line carries its amount (ERROR when not)"),
    Check("bank_matches", "payouts_arrived", False,
          "every payout is on the bank statement within REPORT_ASSETS_UNPAID_AFTER_DAYS bank days (default 4), and "
          "stays there (not reversed)"),
    Check("bank_matches", "bank_lines_explained", False,
          "every bank line that looks like a payout matches one; a gap in the stored history is said once"),
    Check("bank_matches", "bank_files_readable", False,
          "every file in the bank folder is a readable camt.053 statement (an unreadable one is set aside, not fatal)"),
    Check("monthly_statement", "statement_ties", True,
          "each month's closing funds balance is the funds ledger's last balanceAfter, and moves by its amounts"),
)


@dataclass
class BooksOutcome:
    tables: dict[str, pa.Table] = field(default_factory=dict)
    bank_lines: int = 0
    failures: dict[Check, list[Finding]] = field(default_factory=dict)  # every check of BOOK_CHECKS


def ledger_accounts(lake: ParquetLake) -> pa.Table:
    """Each ledger's payout account as the API names it (the ID without its scheme, for display), as one key
    whatever form a bank statement writes it in (``core.bank_accounts``), the country whose bank days count for
    it, and the Vipps numbers of its sales units, which a payout's bank text names (``Vippsnr 123455``)."""
    rows = [r for r in read_catalog(lake).values() if r["payout_bank_account"]]
    keys = [account_key(r["payout_bank_account"], COUNTRY_OF_CURRENCY.get(r["currency"] or "")) for r in rows]
    return pa.table({
        "ledger_id": pa.array([r["ledger_id"] for r in rows], pa.string()),
        "bank_account": pa.array([r["payout_bank_account"].split(" ", 1)[-1] for r in rows], pa.string()),
        "account_key": pa.array(keys, pa.string()),
        "country": pa.array([account_country(key, r["currency"]) for key, r in zip(keys, rows, strict=True)],
                            pa.string()),
        "serials": pa.array([["".join(ch for ch in h if ch.isdigit()) for h in r["recipient_handles"] or []]
                             for r in rows], pa.list_(pa.string())),
    })


def bank_days(connection: duckdb.DuckDBPyConnection, accounts: pa.Table, bank_lines: pa.Table,
              today: date) -> pa.Table:
    """The bank-day numbers of the accounts' countries over every date a payout or bank line needs."""
    first, last = connection.execute("SELECT min(ledger_date) - 7, max(ledger_date) FROM payouts").fetchall()[0]
    dates = [d for d in (first, last, today, *bank_lines.column("booking_date").to_pylist()) if d is not None]
    rows = bank_day_numbers(set(accounts.column("country").to_pylist()), min(dates), max(dates))
    return pa.table({"country": pa.array([r[0] for r in rows], pa.string()),
                     "day": pa.array([r[1] for r in rows], pa.date32()),
                     "bank_day": pa.array([r[2] for r in rows], pa.int64())})


def first_stored_dates(data: DataDir) -> dict[str, date]:
    """Each ledger's first stored ledger date: where its bank statements are wanted from."""
    if not data.warehouse.exists():
        return {}
    with open_for_write(data.warehouse) as connection:
        if not connection.sql("SELECT 1 FROM duckdb_tables() WHERE table_name = 'ledger_day_status'").fetchall():
            return {}
        return dict(connection.sql("SELECT ledger_id, min(ledger_date) FROM ledger_day_status GROUP BY ALL").fetchall())


def statement_sql() -> str:
    movements = ",\n        ".join(f"coalesce(sum(credit - debit) FILTER (WHERE account_role = '{role}'), 0) AS {role}"
                                   for role in STATEMENT_ROLES)
    columns = ", ".join(f"coalesce(mv.{role}, 0) AS {role}" for role in STATEMENT_ROLES)
    return sql("monthly_statement", role_movements=movements, role_columns=columns,
               payout_types=SQL_LISTS["payout_types"])


def statement_ties_sql() -> str:
    return sql("checks/statement_ties", movement_sum=" + ".join(STATEMENT_MOVEMENTS))


def compute_books(connection: duckdb.DuckDBPyConnection, bank: BankFolder, accounts: pa.Table,
                  account_map: AccountMap, today: date) -> tuple[dict[str, pa.Table], pa.Table]:
    """The three tables, from the warehouse's ledger-day tables and the bank folder (nothing is written), and the
    bank lines that look like payouts but fall in a gap of the stored history, not judged."""
    tables: dict[str, pa.Table] = {}
    with registered(connection, "bank_lines", bank.lines), registered(connection, "ledger_accounts", accounts), \
            registered(connection, "account_map", account_rows(account_map)), \
            registered(connection, "unreadable_statements", bank.unreadable_table()), \
            registered(connection, "bank_days", bank_days(connection, accounts, bank.lines, today)):
        matches = with_int64_integers(connection.sql(
            sql("bank_matches", window_days=str(MATCH_WINDOW_DAYS),
                history_margin_days=str(HISTORY_MARGIN_DAYS)),
            params={"today": today.isoformat()}).to_arrow_table())
        judged = pc.not_equal(matches.column("status"), "not_judged")
        tables["bank_matches"] = matches.filter(judged)
        with registered(connection, "bank_matches", tables["bank_matches"]):
            tables["bank_journal_lines"] = with_int64_integers(
                connection.sql(sql("bank_journal_lines")).to_arrow_table())
        with registered(connection, "bank_journal_lines", tables["bank_journal_lines"]):
            tables["monthly_statement"] = with_int64_integers(connection.sql(
                statement_sql(), params={"today": today.isoformat(),
                                         "computed_at": datetime.now(UTC).isoformat()}).to_arrow_table())
    return tables, matches.filter(pc.invert(judged))


def history_gaps(not_judged: pa.Table) -> list[Finding]:
    """One line per ledger for bank lines not judged because ledger dates before them are not stored: which
    months, and what to fetch (rather than one warning per payout of a month never fetched)."""
    months: dict[str, list[str]] = {}
    for row in not_judged.select(["ledger_id", "booking_date"]).to_pylist():
        months.setdefault(row["ledger_id"], []).append(f"{row['booking_date']:%Y-%m}")
    return [Finding(f"{len(found)} bank line(s) that look like payouts, in {', '.join(sorted(set(found)))}, are not "
                    "judged: ledger dates before them are not stored (a gap in the stored history). Fetch those months "
                    f"(make main ARGS=\"--from {min(found)}-01 --to ...\", or a backfill in the UI) and the books "
                    "judge them.", ledger_id) for ledger_id, found in sorted(months.items())]


def book_checks(connection: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table], bank: BankFolder,
                not_judged: pa.Table, unpaid_after_days: int) -> dict[Check, list[Finding]]:
    """What the checks of the books find: one finding per failure, naming ledger, payout, month or file."""
    matches = tables["bank_matches"].to_pylist()

    def payout(m: dict[str, Any]) -> str:
        return f"payout {m['payout_number']} of {m['scheduled_on']}"

    found = {
        "bank_files_readable": [Finding(
            f"{u.statement_file}: {u.reason}. Set aside: the other files were read"
            + (f"; payouts to account {u.account_key} it would show say statement_unreadable" if u.account_key
               else "; which account it holds cannot be told")
            + ". Replace it with the bank's original (or move it out of the bank folder), then recompute the books.")
            for u in bank.unreadable],
        "bank_amounts_match": [Finding(
            f"{payout(m)} is {money_text(m['payout_amount'], m['currency'])}, its bank line of {m['booking_date']} "
            f"({m['bank_text']!r}, {m['statement_file']}) {money_text(m['bank_amount'], m['currency'])}",
            m["ledger_id"]) for m in matches if m["status"] == "amount_mismatch"],
        "payouts_arrived": [Finding(
            f"{payout(m)} ({money_text(m['payout_amount'], m['currency'])}) not on the bank statement after "
            f"{m['bank_days_open']} bank days", m["ledger_id"])
            for m in matches if m["status"] == "not_arrived" and (m["bank_days_open"] or 0) > unpaid_after_days] + [
            Finding(f"{payout(m)} arrived on {m['booking_date']} ({m['statement_file']}) and the bank reversed it: it "
                    "is not on the account", m["ledger_id"]) for m in matches if m["status"] == "reversed"],
        "bank_lines_explained": [Finding(
            f"bank line of {m['booking_date']} {money_text(m['bank_amount'], m['currency'])} {m['bank_text']!r} "
            f"({m['statement_file']}) looks like a payout but matches none", m["ledger_id"])
            for m in matches if m["status"] == "unmatched_bank_line"] + history_gaps(not_judged),
    }
    with registered(connection, "monthly_statement", tables["monthly_statement"]):
        found["statement_ties"] = [Finding(
            f"{row['month']}: {row['term']} {money_text(row['statement_figure'], row['currency'])} on the statement, "
            f"{row['against']} {money_text(row['ledger_figure'], row['currency'])}", row["ledger_id"])
            for row in connection.sql(statement_ties_sql()).to_arrow_table().to_pylist()]
    return {check: found[check.name] for check in BOOK_CHECKS}


def write_books(connection: duckdb.DuckDBPyConnection, lake: ParquetLake, tables: dict[str, pa.Table]) -> None:
    """The tables into the warehouse in one transaction, then their lake files, each replaced atomically."""
    with transaction(connection):
        for name, rows in tables.items():
            with registered(connection, "book_rows", rows):
                connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM book_rows")
    for name, rows in tables.items():
        lake.write_table(name, rows)


def build_books(data: DataDir, bank_dir: Path, account_map: AccountMap, today: date, unpaid_after_days: int,
                say: Callable[[str], None]) -> BooksOutcome:
    """Reads the bank folder, recomputes the books, checks them, then stores them (checks that fail do not
    stop the store: what they name is for a person to look at, with the tables in front of them)."""
    bank = read_bank_folder(bank_dir)  # a file that cannot be read is set aside, and said by a check
    with open_for_write(data.warehouse, say=say) as connection:
        present = {row[0] for row in connection.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        if not set(NEEDED) <= present:
            return BooksOutcome(bank_lines=bank.lines.num_rows)
        tables, not_judged = compute_books(connection, bank, ledger_accounts(data.lake), account_map, today)
        failures = book_checks(connection, tables, bank, not_judged, unpaid_after_days)
        write_books(connection, data.lake, tables)
    return BooksOutcome(tables, bank.lines.num_rows, failures)
