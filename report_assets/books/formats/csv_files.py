"""CSV for a generic journal import: one line per journal line, in major units.

Two dialects: ``standard`` (comma-separated, ``.`` decimals, ISO dates), and ``norwegian`` (``;``-separated,
decimal comma, dd.mm.yyyy dates, UTF-8 with a byte-order mark), which Excel set to Norwegian opens in columns and
Norwegian accounting systems import as they are.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from report_assets.books.month_books import LedgerMonth
from report_assets.core.money import major_text
from report_assets.lake.summary_columns import money_columns

JOURNAL_HEADER = ("voucher", "date", "account", "vat_code", "debit", "credit", "text", "reference", "payout_number",
                  "currency")


@dataclass(frozen=True)
class Dialect:
    name: str
    delimiter: str
    decimal_mark: str
    date_format: str
    encoding: str


DIALECTS = {"standard": Dialect("standard", ",", ".", "%Y-%m-%d", "utf-8"),
            "norwegian": Dialect("norwegian", ";", ",", "%d.%m.%Y", "utf-8-sig")}


def cell(value: object, dialect: Dialect) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.strftime(dialect.date_format)
    return "" if value is None else value


def write_rows(path: Path, header: list[str], rows: list[list[object]], dialect: Dialect) -> None:
    with open(path, "w", newline="", encoding=dialect.encoding) as handle:
        writer = csv.writer(handle, delimiter=dialect.delimiter)
        writer.writerow(header)
        writer.writerows(rows)


def write_journal(path: Path, ledger: LedgerMonth, dialect: Dialect) -> None:
    def money(amount: int) -> str:
        return major_text(amount, ledger.currency, dialect.decimal_mark)

    write_rows(path, list(JOURNAL_HEADER), [
        [voucher.number, cell(voucher.day, dialect), line.account, line.vat_code, money(line.debit),
         money(line.credit), line.text, line.reference, line.payout_number or "", ledger.currency]
        for voucher in ledger.vouchers for line in voucher.lines], dialect)


def write_statement(path: Path, statement: dict, dialect: Dialect) -> None:
    money = set(money_columns("monthly_statement"))
    header = [c for c in statement if c != "computed_at"]
    write_rows(path, header, [[major_text(statement[c], statement["currency"], dialect.decimal_mark) if c in money
                               else cell(statement[c], dialect) for c in header]], dialect)
