"""A month's files for the accounting system, per ledger, all from the same books (``month_books``):

- ``journal-<ledger>-<month>.csv``: the vouchers' lines for a generic journal import (standard or Norwegian
  dialect), with voucher numbers and VAT codes;
- ``statement-<ledger>-<month>.csv``: the monthly statement;
- ``books-<ledger>-<month>.xlsx``: the journal, the statement, the payouts against the bank, the totals per account;
- ``saft-<ledger>-<month>.xml``: SAF-T Financial 1.30, for a Norwegian owner's NOK ledger.

It reads the lake (never the warehouse, so a run in progress is not in its way). The month's files are written
into a new folder that then replaces the old one whole: a failed export leaves the previous export as it was,
never half a file or half a month. The command line (``python -m report_assets.export``) first makes the month
whole: it fetches dates not stored and recomputes books older than the ledgers.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from report_assets.books.formats.csv_files import DIALECTS, write_journal, write_statement
from report_assets.books.formats.saft import NotForSaft, write_saft
from report_assets.books.formats.workbook import write_workbook
from report_assets.books.month_books import LedgerMonth, read_month
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import read_catalog
from report_assets.transforms.accounts import AccountMap

NO_CONTACT = ("Not", "given")  # SAF-T requires a contact person: REPORT_ASSETS_CONTACT_PERSON names one


class ExportError(RuntimeError):
    """Nothing to export, or the lake cannot be read: the message says what to run first."""


@dataclass(frozen=True)
class ExportOptions:
    dialect: str = "standard"
    company_name: str | None = None
    contact_person: tuple[str, str] | None = None


@dataclass
class ExportedMonth:
    folder: Path
    files: list[Path]
    ledgers: list[LedgerMonth]
    notes: list[str] = field(default_factory=list)  # what was not written, and why


def export_month(data: DataDir, month: date, accounts: AccountMap, ledger_ids: list[str] | None = None,
                 options: ExportOptions = ExportOptions()) -> ExportedMonth:
    lake = data.lake
    ledgers = read_month(lake, month, accounts, ledger_ids)
    if not ledgers:
        raise ExportError(f"nothing stored for {month:%Y-%m} in {lake.location}: materialize its ledger dates and the "
                          "books first (make main ARGS=\"--from YYYY-MM-DD\"), then export again. Nothing was written.")
    owners = {ledger_id: row["owner"] for ledger_id, row in read_catalog(lake).items()}
    final = data.root / "exports" / f"{month:%Y-%m}"
    staging = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir(parents=True)
    notes: list[str] = [] if accounts.bank_vouchers else [
        "the payouts' arrival on the bank is left out of the vouchers ([options] bank_vouchers = false in the account "
        "map): match them in your bank feed against the payouts in transit account"]
    try:
        files = write_month(staging, month, ledgers, accounts, owners, options, notes)
        if ledger_ids and final.exists():  # one ledger re-exported: the others' files stay as they were
            for kept in final.iterdir():
                owner = kept.name.split("-")[1] if kept.name.count("-") >= 2 else None  # <kind>-<ledger>-<month>
                if owner is not None and owner not in ledger_ids:
                    shutil.copy2(kept, staging / kept.name)
        replace_folder(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportedMonth(final, [final / f.name for f in files], ledgers, notes)


def write_month(folder: Path, month: date, ledgers: list[LedgerMonth], accounts: AccountMap,
                owners: dict[str, str | None], options: ExportOptions, notes: list[str]) -> list[Path]:
    dialect = DIALECTS[options.dialect]
    files = []
    for ledger in ledgers:
        stem = f"{ledger.ledger_id}-{month:%Y-%m}"
        write_journal(folder / f"journal-{stem}.csv", ledger, dialect)
        files.append(folder / f"journal-{stem}.csv")
        if ledger.statement is not None:
            write_statement(folder / f"statement-{stem}.csv", ledger.statement, dialect)
            files.append(folder / f"statement-{stem}.csv")
        else:
            notes.append(f"ledger {ledger.ledger_id}: no statement (the books have not been computed since its "
                         "ledger-days were stored: make books)")
        write_workbook(folder / f"books-{stem}.xlsx", ledger, accounts.descriptions)
        files.append(folder / f"books-{stem}.xlsx")
        try:
            write_saft(folder / f"saft-{stem}.xml", ledger, month, owners.get(ledger.ledger_id),
                       options.company_name, options.contact_person or NO_CONTACT, accounts.descriptions)
            files.append(folder / f"saft-{stem}.xml")
        except NotForSaft as reason:
            notes.append(f"no SAF-T file: {reason}")
    return files


def replace_folder(staging: Path, final: Path) -> None:
    """The new month's folder in place of the old: renames only, the old one removed last."""
    old = final.parent / f".{final.name}.{uuid.uuid4().hex}.old"
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
