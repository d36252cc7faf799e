"""The month of a ledger as an Excel workbook: the journal, the statement, the payouts against the bank, and the
totals per account (opening, debit, credit, closing). Money is a number in the currency's format (so it sums),
dates are dates, and every column is wide enough to read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from report_assets.books.month_books import LedgerMonth
from report_assets.books.statement_view import statement_lines
from report_assets.core.money import digits, major_decimal

SHEETS = ("Journal", "Statement", "Bank matches", "Totals")
DATE_FORMAT = "yyyy-mm-dd"
MAX_WIDTH = 60


def money_format(currency: str) -> str:
    places = digits(currency)
    return f'#,##0{"." + "0" * places if places else ""} "{currency}";-#,##0{"." + "0" * places if places else ""} ' \
           f'"{currency}"'


def add_sheet(book: Workbook, title: str, header: list[str], rows: list[list[object]], money: set[int],
              currency: str) -> Worksheet:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    number_format = money_format(currency)
    widths = [len(str(h)) for h in header]
    for row_cells in sheet.iter_rows(min_row=2):
        for index, cell in enumerate(row_cells):
            amount = index in money and isinstance(cell.value, int | Decimal)
            if amount:
                cell.number_format = number_format
            elif hasattr(cell.value, "isoformat"):
                cell.number_format = DATE_FORMAT
            shown = len(f"{cell.value:,.2f} {currency}") if amount else \
                (10 if hasattr(cell.value, "isoformat") else len(str(cell.value or "")))
            widths[index] = max(widths[index], shown)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    return sheet


def write_workbook(path: Path, ledger: LedgerMonth, account_names: dict[str, str]) -> None:
    currency = ledger.currency

    def major(amount: int | None) -> object:
        return None if amount is None else major_decimal(amount, currency)

    book = Workbook()
    book.remove(book.active)
    add_sheet(book, "Journal", ["voucher", "date", "account", "vat_code", "debit", "credit", "text", "reference",
                                "payout_number"],
              [[v.number, v.day, line.account, line.vat_code, major(line.debit), major(line.credit), line.text,
                line.reference, line.payout_number] for v in ledger.vouchers for line in v.lines], {4, 5}, currency)
    if ledger.statement is not None:
        add_sheet(book, "Statement", ["", ledger.statement["month"]],
                  [[label, major(value) if isinstance(value, int) else value]
                   for label, value in statement_lines(ledger.statement)], {1}, currency)
    add_sheet(book, "Bank matches", ["payout_number", "scheduled_on", "payout_amount", "status", "booking_date",
                                     "bank_amount", "bank_text", "statement_file"],
              [[m["payout_number"], m["scheduled_on"], major(m["payout_amount"]), m["status"], m["booking_date"],
                major(m["bank_amount"]), m["bank_text"], m["statement_file"]] for m in ledger.bank_matches],
              {2, 5}, currency)
    totals = ledger.totals()
    closing = ledger.closing()
    add_sheet(book, "Totals", ["account", "name", "opening", "debit", "credit", "closing"],
              [[account, account_names.get(account, ledger.roles.get(account, "")),
                major(ledger.opening.get(account, 0)), major(totals.get(account, (0, 0))[0]),
                major(totals.get(account, (0, 0))[1]), major(closing[account])]
               for account in closing if account in totals or ledger.opening.get(account)],
              {2, 3, 4, 5}, currency)
    book.save(path)
