"""What a stored ledger date holds, ledger by ledger and currency by currency: for what people read.

Money is summed per currency, never across currencies, and shown in major units (kroner, euros).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa

from report_assets.lake.parquet_lake import ParquetLake

# The money columns of each summary whose sums per currency people read.
SUMMARY_MONEY = {
    "daily_fee_summary": ("captured_amount", "capture_fees", "fees_of_captures", "service_fees"),
    "daily_payout_summary": ("captured_amount", "refunded_amount", "fees_retained", "payout_amount"),
    "payouts": ("amount", "captured_amount", "capture_fees_matched"),
    "journal_lines": ("debit", "credit"),
}


@dataclass
class LedgerFigures:
    currency: str = ""
    entries: int = 0
    by_entry_type: dict[str, int] = field(default_factory=dict)


@dataclass
class DateFigures:
    rows: int
    ledgers: dict[str, LedgerFigures]  # by ledger ID
    by_currency: dict[str, dict[str, int]]  # currency -> column or entry type -> minor units


def sums(table: pa.Table, keys: list[str], value: str) -> list[dict]:
    return table.group_by(keys).aggregate([(value, "sum"), (value, "count")]).to_pylist()


def ledger_figures(table: pa.Table | None) -> DateFigures:
    """Entries and amounts by entry type, per ledger and per currency, of one date's ledger rows."""
    if table is None or table.num_rows == 0:
        return DateFigures(0, {}, {})
    ledgers: dict[str, LedgerFigures] = defaultdict(LedgerFigures)
    by_currency: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in sums(table, ["ledger_id", "currency", "entry_type"], "amount"):
        figures = ledgers[row["ledger_id"]]
        figures.currency = row["currency"] or ""
        figures.entries += row["amount_count"]
        figures.by_entry_type[row["entry_type"]] = row["amount_sum"]
        by_currency[row["currency"] or ""][row["entry_type"]] += row["amount_sum"]
    return DateFigures(table.num_rows, dict(ledgers), {c: dict(v) for c, v in by_currency.items()})


def summary_figures(table_name: str, table: pa.Table | None) -> DateFigures:
    """Per currency, the sums of a summary's money columns (``SUMMARY_MONEY``) over one date's rows."""
    if table is None or table.num_rows == 0:
        return DateFigures(0, {}, {})
    columns = SUMMARY_MONEY[table_name]
    aggregated = table.group_by(["currency"]).aggregate([(c, "sum") for c in columns]).to_pylist()
    by_currency = {row["currency"] or "": {c: int(row[f"{c}_sum"] or 0) for c in columns} for row in aggregated}
    ledgers = {i: LedgerFigures() for i in table.column("ledger_id").to_pylist()}
    return DateFigures(table.num_rows, ledgers, by_currency)


def stored_figures(lake: ParquetLake, dataset: str, ledger_date: str) -> DateFigures:
    """The figures of a date's file as stored (for a date a run did not rewrite)."""
    if dataset in SUMMARY_MONEY:
        return summary_figures(dataset, lake.read_date(dataset, ledger_date))
    return ledger_figures(lake.read_date(dataset, ledger_date, columns=["ledger_id", "currency", "entry_type",
                                                                        "amount"]))
