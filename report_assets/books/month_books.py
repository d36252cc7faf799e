"""A month's books as the exports write them, read from the lake: per ledger, the vouchers with their lines, the
statement, the payouts against the bank, and each account's balance before and after the month.

Every format (CSV, the workbook, SAF-T) is written from this one shape, so they cannot disagree.

Vouchers are numbered so that a voucher keeps its number however often the books are recomputed or re-exported:
a series per ledger and year, the number from the date and the kind of voucher, ``day of year × 10 + kind``
(1: the ledger-day's settlement, 2: the payouts that arrived on the bank that day). 18 November 2026 (day 322)
gives 3221 and 3222. The numbers are stable, not gapless: a day without entries has no voucher.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from report_assets.lake.parquet_lake import ParquetLake, key_date
from report_assets.transforms.accounts import AccountMap

SETTLEMENT, BANK_ARRIVAL = 1, 2
VOUCHER_TYPES = {SETTLEMENT: "Vipps MobilePay settlement", BANK_ARRIVAL: "Vipps MobilePay payout on the bank"}
PROFIT_AND_LOSS_FIRST_DIGITS = "345678"  # NS 4102: classes 3-8 are profit and loss, 1-2 the balance sheet


def voucher_number(day: date, kind: int) -> int:
    return day.timetuple().tm_yday * 10 + kind


@dataclass(frozen=True)
class Line:
    account: str
    account_role: str
    vat_code: str
    debit: int  # minor units
    credit: int
    text: str
    reference: str  # the journal it comes from: <ledger>-<date>, or <ledger>-<date>-bank-<payout>
    payout_number: int | None


@dataclass
class Voucher:
    number: int
    kind: int
    day: date
    lines: list[Line] = field(default_factory=list)

    @property
    def description(self) -> str:
        return f"{VOUCHER_TYPES[self.kind]} {self.day.isoformat()}"


@dataclass
class LedgerMonth:
    ledger_id: str
    currency: str
    vouchers: list[Voucher]
    statement: dict | None  # the monthly_statement row
    bank_matches: list[dict]  # payouts of the month (scheduled in it) against the bank
    opening: dict[str, int]  # account -> balance (debit positive) before the month
    roles: dict[str, str]  # account -> the first role posting to it

    def totals(self) -> dict[str, tuple[int, int]]:
        """Account -> (debits, credits) of the month's vouchers."""
        sums: dict[str, tuple[int, int]] = {}
        for voucher in self.vouchers:
            for line in voucher.lines:
                debit, credit = sums.get(line.account, (0, 0))
                sums[line.account] = (debit + line.debit, credit + line.credit)
        return sums

    def movement(self) -> dict[str, int]:
        return {account: debit - credit for account, (debit, credit) in self.totals().items()}

    def closing(self) -> dict[str, int]:
        moved = self.movement()
        return {account: self.opening.get(account, 0) + moved.get(account, 0)
                for account in sorted(set(self.opening) | set(moved))}


def is_profit_and_loss(account: str) -> bool:
    return account[:1] in PROFIT_AND_LOSS_FIRST_DIGITS


def month_parts(lake: ParquetLake, month: date) -> tuple[pa.Table | None, pa.Table | None]:
    """The ledger-day journal lines of the month, and every bank journal line (a table of its own)."""
    parts = [lake.store.read(key) for key in lake.date_keys("journal_lines", f"{month:%Y-%m}-")]
    parts = [p for p in parts if p is not None and p.num_rows]
    journal = pa.concat_tables(parts, promote_options="permissive") if parts else None
    return journal, lake.read_table("bank_journal_lines")


def balances_before(lake: ParquetLake, month: date, bank: pa.Table | None,
                    with_bank: bool) -> dict[str, dict[str, int]]:
    """Ledger -> account -> debit minus credit of every journal line before the month (profit and loss from the
    start of its year), read a date file at a time so that a partner's years stay in flat memory."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(table: pa.Table) -> None:
        grouped = table.group_by(["ledger_id", "account", "ledger_date"]).aggregate([("debit", "sum"),
                                                                                      ("credit", "sum")])
        for row in grouped.to_pylist():
            if is_profit_and_loss(row["account"]) and row["ledger_date"].year != month.year:
                continue
            sums[row["ledger_id"]][row["account"]] += row["debit_sum"] - row["credit_sum"]

    columns = ["ledger_id", "account", "ledger_date", "debit", "credit"]
    for key in lake.date_keys("journal_lines"):
        if key_date(key) >= month.isoformat():
            continue
        table = lake.store.read(key)
        if table is not None and table.num_rows:
            add(table.select(columns))
    if with_bank and bank is not None and bank.num_rows:
        earlier = bank.filter(pc.less(bank.column("ledger_date"), pa.scalar(month, pa.date32())))
        if earlier.num_rows:
            add(earlier.select(columns))
    return {ledger: dict(accounts) for ledger, accounts in sums.items()}


def vouchers_of(rows: list[dict], kind: int, accounts: AccountMap) -> list[Voucher]:
    vouchers: dict[int, Voucher] = {}
    for row in rows:
        number = voucher_number(row["ledger_date"], kind)
        voucher = vouchers.setdefault(number, Voucher(number, kind, row["ledger_date"]))
        voucher.lines.append(Line(row["account"], row["account_role"], accounts.vat_code(row["account_role"]),
                                  row["debit"], row["credit"], row["text"] or "", row["journal_id"],
                                  row["payout_number"]))
    return list(vouchers.values())


def read_month(lake: ParquetLake, month: date, accounts: AccountMap,
               ledger_ids: list[str] | None = None) -> list[LedgerMonth]:
    """Every ledger with journal lines or a statement in the month, in ledger order."""
    journal, bank = month_parts(lake, month)
    statements = lake.read_table("monthly_statement")
    matches = lake.read_table("bank_matches")
    first, next_month = month, date(month.year + month.month // 12, month.month % 12 + 1, 1)

    def in_month(table: pa.Table | None, column: str) -> list[dict]:
        if table is None or column not in table.column_names:
            return []
        days = table.column(column)
        kept = table.filter(pc.and_(pc.greater_equal(days, pa.scalar(first, days.type)),
                                    pc.less(days, pa.scalar(next_month, days.type))))
        return kept.to_pylist()

    journal_rows = in_month(journal, "ledger_date")
    bank_rows = in_month(bank, "ledger_date") if accounts.bank_vouchers else []
    statement_rows = [r for r in (statements.to_pylist() if statements is not None else [])
                      if r["month"] == f"{month:%Y-%m}"]
    match_rows = in_month(matches, "scheduled_on")
    opening = balances_before(lake, month, bank, accounts.bank_vouchers)
    ledgers = sorted({r["ledger_id"] for r in journal_rows} | {r["ledger_id"] for r in statement_rows})
    if ledger_ids:
        ledgers = [ledger for ledger in ledgers if ledger in ledger_ids]
    months = []
    for ledger_id in ledgers:
        own = [r for r in journal_rows if r["ledger_id"] == ledger_id]
        own_bank = [r for r in bank_rows if r["ledger_id"] == ledger_id]
        statement = next((r for r in statement_rows if r["ledger_id"] == ledger_id), None)
        vouchers = sorted(vouchers_of(own, SETTLEMENT, accounts) + vouchers_of(own_bank, BANK_ARRIVAL, accounts),
                          key=lambda v: v.number)
        currency = (statement or {}).get("currency") or next((r["currency"] for r in own), "")
        roles: dict[str, str] = {}
        for row in (*own, *own_bank):
            roles.setdefault(row["account"], row["account_role"])
        months.append(LedgerMonth(ledger_id, currency, vouchers, statement,
                                  [m for m in match_rows if m["ledger_id"] == ledger_id],
                                  opening_balances(opening.get(ledger_id, {}), statement, accounts, ledger_id),
                                  roles))
    return months


def opening_balances(journaled: dict[str, int], statement: dict | None, accounts: AccountMap,
                     ledger_id: str) -> dict[str, int]:
    """Each account's balance before the month. The clearing accounts hold the ledgers' balances (which began
    before the first stored day, so the journals alone do not know them): the statement's opening balances."""
    opening = dict(journaled)
    if statement is not None:
        opening[accounts.account(ledger_id, "funds_clearing")] = statement["opening_funds_balance"] or 0
        opening[accounts.account(ledger_id, "fees_clearing")] = statement["opening_fees_balance"] or 0
    return opening
