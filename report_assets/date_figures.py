"""What a stored ledger date holds, ledger by ledger and currency by currency: for what people read.

Money is summed per currency, never across currencies, and shown in major units (kroner, euros).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa

from report_assets.storage.lake import ParquetLake

MINOR_UNIT_DIGITS = {"JPY": 0, "ISK": 0, "KWD": 3, "BHD": 3}  # every other currency here has two


def major_units(amount: int, currency: str) -> float:
    return amount / 10 ** MINOR_UNIT_DIGITS.get(currency, 2)


def money_text(amount: int, currency: str) -> str:
    digits = MINOR_UNIT_DIGITS.get(currency, 2)
    return f"{major_units(amount, currency):,.{digits}f} {currency}"


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


def ledger_date_figures(lake: ParquetLake, topic: str, ledger_date: str) -> DateFigures:
    """Entries and amounts by entry type, per ledger and per currency, of one date's file."""
    table = lake.read_date(topic, ledger_date, columns=["ledger_id", "currency", "entry_type", "amount"])
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


def summary_date_figures(lake: ParquetLake, table_name: str, ledger_date: str,
                         columns: tuple[str, ...]) -> DateFigures:
    """Per currency, the sums of some money columns of one date's summary file."""
    table = lake.read_date(table_name, ledger_date)
    if table is None or table.num_rows == 0:
        return DateFigures(0, {}, {})
    aggregated = table.group_by(["currency"]).aggregate([(c, "sum") for c in columns]).to_pylist()
    by_currency = {row["currency"] or "": {c: int(row[f"{c}_sum"] or 0) for c in columns} for row in aggregated}
    ledgers = {i: LedgerFigures() for i in table.column("ledger_id").to_pylist()}
    return DateFigures(table.num_rows, ledgers, by_currency)
