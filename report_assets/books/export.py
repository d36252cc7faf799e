"""Exports of a month for the accounting system: per ledger, the journal as CSV for a generic journal import,
and the monthly statement as CSV, in major units with the currency's decimals.

``python -m report_assets.books.export --month 2026-10`` (``make export MONTH=2026-10``) reads the lake
(never the warehouse, so a run in progress is not in its way) and writes
``<data dir>/exports/2026-10/journal-<ledger>-2026-10.csv`` and ``statement-<ledger>-2026-10.csv``. The
month's files are written into a new folder that then replaces the old one whole: a failed export
leaves the previous export as it was, and never half a file or half a month.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from report_assets.core.money import major_text
from report_assets.data_dir import DataDir
from report_assets.settings import SettingError, load_settings
from report_assets.storage.lake import ParquetLake
from report_assets.storage.summary_columns import money_columns
from report_assets.storage.warehouse import registered

JOURNAL_HEADER = ("date", "account", "debit", "credit", "text", "reference", "payout_number", "currency")


class ExportError(RuntimeError):
    """Nothing to export, or the lake cannot be read: the message says what to run first."""


@dataclass(frozen=True)
class ExportedMonth:
    folder: Path
    files: list[Path]
    not_final: list[str]  # ledgers whose month is not yet wholly stored closed


def journal_rows(connection: duckdb.DuckDBPyConnection, lake: ParquetLake, month: date) -> list[dict]:
    """The month's ledger-day journals and bank-arrival journals, in date and journal order."""
    parts = [lake.store.read(key) for key in lake.date_keys("journal_lines", f"{month:%Y-%m}-")]
    parts.append(lake.read_table("bank_journal_lines"))
    parts = [part for part in parts if part is not None]
    if not parts:
        return []
    with registered(connection, "journal", pa.concat_tables(parts, promote_options="permissive")):
        return connection.sql("SELECT * FROM journal WHERE date_trunc('month', ledger_date) = $month "
                              "ORDER BY ledger_id, ledger_date, journal_id, line",
                              params={"month": month}).to_arrow_table().to_pylist()


def statement_rows(connection: duckdb.DuckDBPyConnection, lake: ParquetLake, month: date) -> list[dict]:
    statements = lake.read_table("monthly_statement")
    if statements is None:
        return []
    with registered(connection, "statement", statements):
        return connection.sql("SELECT * FROM statement WHERE month = strftime($month, '%Y-%m') ORDER BY ledger_id",
                              params={"month": month}).to_arrow_table().to_pylist()


def cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else ("" if value is None else value)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def export_month(data: DataDir, month: date, ledger_ids: list[str] | None = None) -> ExportedMonth:
    lake = data.lake
    with duckdb.connect() as connection:
        journals = journal_rows(connection, lake, month)
        statements = statement_rows(connection, lake, month)
    if ledger_ids:
        journals = [r for r in journals if r["ledger_id"] in ledger_ids]
        statements = [r for r in statements if r["ledger_id"] in ledger_ids]
    if not journals and not statements:
        raise ExportError(f"nothing stored for {month:%Y-%m} in {lake.location}: materialize its ledger dates and the "
                          "books first (make main ARGS=\"--from YYYY-MM-DD\"), then export again. Nothing was written.")
    final = data.root / "exports" / f"{month:%Y-%m}"
    staging = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir(parents=True)
    try:
        files = write_month(staging, month, journals, statements)
        replace_folder(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportedMonth(final, [final / f.name for f in files],
                         sorted(r["ledger_id"] for r in statements if not r["is_final"]))


def write_month(folder: Path, month: date, journals: list[dict], statements: list[dict]) -> list[Path]:
    files = []
    for ledger_id in sorted({r["ledger_id"] for r in journals}):
        path = folder / f"journal-{ledger_id}-{month:%Y-%m}.csv"
        write_csv(path, list(JOURNAL_HEADER), [
            [r["ledger_date"].isoformat(), r["account"], major_text(r["debit"], r["currency"]),
             major_text(r["credit"], r["currency"]), r["text"], r["journal_id"], r["payout_number"] or "",
             r["currency"]]
            for r in journals if r["ledger_id"] == ledger_id])
        files.append(path)
    money = set(money_columns("monthly_statement"))
    for row in statements:
        path = folder / f"statement-{row['ledger_id']}-{month:%Y-%m}.csv"
        header = [c for c in row if c != "computed_at"]
        write_csv(path, header, [[major_text(row[c], row["currency"]) if c in money else cell(row[c]) for c in header]])
        files.append(path)
    return files


def replace_folder(staging: Path, final: Path) -> None:
    """The new month's folder in place of the old: renames only, the old one removed last."""
    old = final.parent / f".{final.name}.{uuid.uuid4().hex}.old"
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def month_arg(raw: str) -> date:
    try:
        if len(raw) != 7:
            raise ValueError(raw)
        return date.fromisoformat(f"{raw}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a month as YYYY-MM, e.g. 2026-10") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m report_assets.books.export",
                                     description="Write a month's journal and statement CSVs per ledger.")
    parser.add_argument("--month", type=month_arg, required=True, metavar="YYYY-MM")
    parser.add_argument("--ledger", action="append", default=[], metavar="LEDGER_ID", help="only this ledger")
    args = parser.parse_args(argv)
    try:
        exported = export_month(DataDir.from_settings(load_settings()), args.month, args.ledger or None)
    except (ExportError, SettingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"Wrote {len(exported.files)} file(s) for {args.month:%Y-%m} into {exported.folder}:")
    for path in exported.files:
        print(f"  {path.name}")
    if exported.not_final:
        print(f"Not final yet (some ledger dates of the month not stored closed): ledger(s) "
              f"{', '.join(exported.not_final)}. Export again once the month is closed.")


if __name__ == "__main__":
    main()
