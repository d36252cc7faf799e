"""The books worked by hand: a small net-settlement ledger whose journal lines, monthly statements, bank
matches and CSV exports are written out here to the minor unit, through the real warehouse, lake and
bank-folder code (no Dagster: the books are domain code)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import openpyxl
import pyarrow as pa
import pytest
from lxml import etree

from report_assets.books.build import build_books
from report_assets.books.export import ExportedMonth, ExportOptions, export_month
from report_assets.core.checks import Finding
from report_assets.defs.books.assets import books_step
from report_assets.defs.columns import summary_table_schema
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import refresh_catalog
from report_assets.lake.parquet_lake import FetchStamp, Run, entries_to_batch
from report_assets.lake.schema import TABLE_OF_TOPIC, arrow_schema
from report_assets.lake.summary_columns import COLUMNS
from report_assets.pipeline.ingestion import check_and_summarize, prepare_warehouse, write_summary_files
from report_assets.report_api.client import Ledger
from report_assets.report_api.entry_schema import ENTRY_TYPES_BY_TOPIC, page_batch
from report_assets.simulator.app import SimClock, SimulatorState
from report_assets.simulator.bank import arrivals
from report_assets.simulator.generator import LedgerGenerator
from report_assets.simulator.server import ThreadedSimulator
from report_assets.simulator.world import World, default_ledgers
from report_assets.transforms.accounts import DEFAULT_MAP, load_account_map
from report_assets.transforms.journal import BOOKED_AGAINST
from report_assets.transforms.summaries import ALL_CHECKS
from report_assets.warehouse.database import open_for_write, record_status, replace_slices, transaction
from report_assets_tests.conftest import FROZEN_NOW, RULES, Sim, project_settings, said, store_directly

LEDGER = "900001"
ACCOUNT = "86011117947"
TODAY = date(2026, 11, 26)
SAFT_XSD = Path(__file__).parent / "spec" / "saf-t" / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd"
# (ledger date, topic, entry type, pspReference, amount in øre). Thursday 29 October pays out the day; Friday
# 30 October to Sunday 1 November are paid out by Monday 2 November's payout, which is that day's only entry.
ENTRIES = [
    ("2026-10-29", "funds", "capture", "A1", 100_000),
    ("2026-10-29", "funds", "capture", "A2", 50_000),
    ("2026-10-29", "funds", "refund", "A2-R", -20_000),
    ("2026-10-29", "funds", "fees-retained", "900001-FR-20261029", -2_625),
    ("2026-10-29", "funds", "payout-scheduled", "900001-1001", -127_375),
    ("2026-10-29", "fees", "capture-fee", "A1", -1_750),
    ("2026-10-29", "fees", "capture-fee", "A2", -875),
    ("2026-10-29", "fees", "fees-retained", "900001-FR-20261029", 2_625),
    ("2026-10-30", "funds", "capture", "B1", 80_000),
    ("2026-10-30", "funds", "correction", "900001-C-20261030", -500),
    ("2026-10-30", "funds", "fees-retained", "900001-FR-20261030", -1_400),
    ("2026-10-30", "fees", "capture-fee", "B1", -1_400),
    ("2026-10-30", "fees", "fees-retained", "900001-FR-20261030", 1_400),
    ("2026-10-31", "funds", "capture", "B2", 40_000),
    ("2026-10-31", "funds", "fees-retained", "900001-FR-20261031", -700),
    ("2026-10-31", "fees", "capture-fee", "B2", -700),
    ("2026-10-31", "fees", "fees-retained", "900001-FR-20261031", 700),
    ("2026-11-01", "funds", "capture", "B3", 20_000),
    ("2026-11-01", "funds", "fees-retained", "900001-FR-20261101", -350),
    ("2026-11-01", "fees", "capture-fee", "B3", -350),
    ("2026-11-01", "fees", "fees-retained", "900001-FR-20261101", 350),
    ("2026-11-02", "funds", "payout-scheduled", "900001-1002", -137_050),
]
DATES = ["2026-10-29", "2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]

# (journal, line, account, role, debit, credit, entry type, payout number)
JOURNAL = [
    ("900001-2026-10-29", 1, "1571", "funds_clearing", 150_000, 0, "capture", None),
    ("900001-2026-10-29", 2, "1573", "sales", 0, 150_000, "capture", None),
    ("900001-2026-10-29", 3, "1571", "funds_clearing", 0, 20_000, "refund", None),
    ("900001-2026-10-29", 4, "1573", "refunds", 20_000, 0, "refund", None),
    ("900001-2026-10-29", 5, "1571", "funds_clearing", 0, 2_625, "fees-retained", None),
    ("900001-2026-10-29", 6, "1571", "funds_clearing", 0, 127_375, "payout-scheduled", 1001),
    ("900001-2026-10-29", 7, "1579", "payouts_in_transit", 127_375, 0, "payout-scheduled", 1001),
    ("900001-2026-10-29", 8, "2401", "fees_clearing", 0, 2_625, "capture-fee", None),
    ("900001-2026-10-29", 9, "7770", "fee_expense", 2_625, 0, "capture-fee", None),
    ("900001-2026-10-29", 10, "2401", "fees_clearing", 2_625, 0, "fees-retained", None),
    ("900001-2026-10-30", 1, "1571", "funds_clearing", 80_000, 0, "capture", None),
    ("900001-2026-10-30", 2, "1573", "sales", 0, 80_000, "capture", None),
    ("900001-2026-10-30", 3, "1571", "funds_clearing", 0, 500, "correction", None),
    ("900001-2026-10-30", 4, "7790", "corrections", 500, 0, "correction", None),
    ("900001-2026-10-30", 5, "1571", "funds_clearing", 0, 1_400, "fees-retained", None),
    ("900001-2026-10-30", 6, "2401", "fees_clearing", 0, 1_400, "capture-fee", None),
    ("900001-2026-10-30", 7, "7770", "fee_expense", 1_400, 0, "capture-fee", None),
    ("900001-2026-10-30", 8, "2401", "fees_clearing", 1_400, 0, "fees-retained", None),
    ("900001-2026-10-31", 1, "1571", "funds_clearing", 40_000, 0, "capture", None),
    ("900001-2026-10-31", 2, "1573", "sales", 0, 40_000, "capture", None),
    ("900001-2026-10-31", 3, "1571", "funds_clearing", 0, 700, "fees-retained", None),
    ("900001-2026-10-31", 4, "2401", "fees_clearing", 0, 700, "capture-fee", None),
    ("900001-2026-10-31", 5, "7770", "fee_expense", 700, 0, "capture-fee", None),
    ("900001-2026-10-31", 6, "2401", "fees_clearing", 700, 0, "fees-retained", None),
    ("900001-2026-11-01", 1, "1571", "funds_clearing", 20_000, 0, "capture", None),
    ("900001-2026-11-01", 2, "1573", "sales", 0, 20_000, "capture", None),
    ("900001-2026-11-01", 3, "1571", "funds_clearing", 0, 350, "fees-retained", None),
    ("900001-2026-11-01", 4, "2401", "fees_clearing", 0, 350, "capture-fee", None),
    ("900001-2026-11-01", 5, "7770", "fee_expense", 350, 0, "capture-fee", None),
    ("900001-2026-11-01", 6, "2401", "fees_clearing", 350, 0, "fees-retained", None),
    ("900001-2026-11-02", 1, "1571", "funds_clearing", 0, 137_050, "payout-scheduled", 1002),
    ("900001-2026-11-02", 2, "1579", "payouts_in_transit", 137_050, 0, "payout-scheduled", 1002),
]
# The bank: payout 1001 lands on Monday 2 November (T+2), 1002 on Wednesday 4 November; rent is not a payout.
BANK_JOURNAL = [
    ("900001-2026-11-02-bank-1001", 1, "1920", "bank", 127_375, 0, "bank-statement", 1001),
    ("900001-2026-11-02-bank-1001", 2, "1579", "payouts_in_transit", 0, 127_375, "bank-statement", 1001),
    ("900001-2026-11-04-bank-1002", 1, "1920", "bank", 137_050, 0, "bank-statement", 1002),
    ("900001-2026-11-04-bank-1002", 2, "1579", "payouts_in_transit", 0, 137_050, "bank-statement", 1002),
]
STATEMENT_COLUMNS = ("month", "days_stored", "missing_dates", "moved_on_missing_dates", "opening_funds_balance",
                     "closing_funds_balance", "opening_fees_balance",
                     "closing_fees_balance", "sales", "refunds", "fee_expense", "disputes", "corrections", "top_up",
                     "credit_notes", "fees_invoiced", "suspense", "payouts_scheduled", "payouts_aborted",
                     "payouts_arrived", "in_transit_at_month_end", "payout_numbers", "open_payout_numbers",
                     "carried_by_payout_number", "carried_by_payout_date", "is_final")
STATEMENTS = [
    # October holds three stored dates: 2700.00 captured, 200.00 refunded, 47.25 fees, a 5.00 correction, payout
    # 1001 in transit at the month end, and 1174.00 left on funds_clearing that payout 1002 (2 November) carries.
    # Every movement is signed by what it did to the balances: 0 + 270_000 - 20_000 - 4_725 - 500 - 127_375 = 117_400.
    # The stored dates are 29-31 October and 1-2 November: the rest of each month, up to today, is named missing.
    ("2026-10", 3, "2026-10-01..2026-10-28", 0, 0, 117_400, 0, 0, 270_000, -20_000, -4_725, 0, -500, 0, 0, 0, 0,
     -127_375, 0, 0, 127_375, "1001", "1001", 1002, date(2026, 11, 2), False),
    ("2026-11", 2, "2026-11-03..2026-11-26", 0, 117_400, 0, 0, 0, 20_000, 0, -350, 0, 0, 0, 0, 0, 0, -137_050, 0,
     264_425, 0, "1002", None, None, None, False),
]
OCTOBER_CSV = """\
voucher,date,account,vat_code,debit,credit,text,reference,payout_number,currency
3021,2026-10-29,1571,0,1500.00,0.00,"capture, 2 entries",900001-2026-10-29,,NOK
3021,2026-10-29,1573,0,0.00,1500.00,"capture, 2 entries",900001-2026-10-29,,NOK
3021,2026-10-29,1571,0,0.00,200.00,"refund, 1 entry",900001-2026-10-29,,NOK
3021,2026-10-29,1573,0,200.00,0.00,"refund, 1 entry",900001-2026-10-29,,NOK
3021,2026-10-29,1571,0,0.00,26.25,"fees-retained, 1 entry",900001-2026-10-29,,NOK
3021,2026-10-29,1571,0,0.00,1273.75,payout-scheduled 1001,900001-2026-10-29,1001,NOK
3021,2026-10-29,1579,0,1273.75,0.00,payout-scheduled 1001,900001-2026-10-29,1001,NOK
3021,2026-10-29,2401,0,0.00,26.25,"capture-fee, 2 entries",900001-2026-10-29,,NOK
3021,2026-10-29,7770,0,26.25,0.00,"capture-fee, 2 entries",900001-2026-10-29,,NOK
3021,2026-10-29,2401,0,26.25,0.00,"fees-retained, 1 entry",900001-2026-10-29,,NOK
3031,2026-10-30,1571,0,800.00,0.00,"capture, 1 entry",900001-2026-10-30,,NOK
3031,2026-10-30,1573,0,0.00,800.00,"capture, 1 entry",900001-2026-10-30,,NOK
3031,2026-10-30,1571,0,0.00,5.00,"correction, 1 entry",900001-2026-10-30,,NOK
3031,2026-10-30,7790,0,5.00,0.00,"correction, 1 entry",900001-2026-10-30,,NOK
3031,2026-10-30,1571,0,0.00,14.00,"fees-retained, 1 entry",900001-2026-10-30,,NOK
3031,2026-10-30,2401,0,0.00,14.00,"capture-fee, 1 entry",900001-2026-10-30,,NOK
3031,2026-10-30,7770,0,14.00,0.00,"capture-fee, 1 entry",900001-2026-10-30,,NOK
3031,2026-10-30,2401,0,14.00,0.00,"fees-retained, 1 entry",900001-2026-10-30,,NOK
3041,2026-10-31,1571,0,400.00,0.00,"capture, 1 entry",900001-2026-10-31,,NOK
3041,2026-10-31,1573,0,0.00,400.00,"capture, 1 entry",900001-2026-10-31,,NOK
3041,2026-10-31,1571,0,0.00,7.00,"fees-retained, 1 entry",900001-2026-10-31,,NOK
3041,2026-10-31,2401,0,0.00,7.00,"capture-fee, 1 entry",900001-2026-10-31,,NOK
3041,2026-10-31,7770,0,7.00,0.00,"capture-fee, 1 entry",900001-2026-10-31,,NOK
3041,2026-10-31,2401,0,7.00,0.00,"fees-retained, 1 entry",900001-2026-10-31,,NOK
"""
OCTOBER_STATEMENT_CSV = (
    "900001,2026-10,NOK,3,3,2026-10-01..2026-10-28,,0.00,0.00,2700.00,-200.00,-47.25,0.00,-5.00,0.00,0.00,0.00,0.00,"
    "-1273.75,0.00,0.00,1174.00,0.00,0.00,1273.75,1001,1001,1002,2026-11-02,false")


def camt053(lines: list[tuple[str, int, str]]) -> str:
    """A bank's statement of the payout account, as a Norwegian bank delivers it (camt.053.001.02)."""
    entries = "".join(
        f"<Ntry><Amt Ccy=\"NOK\">{abs(amount) // 100}.{abs(amount) % 100:02d}</Amt>"
        f"<CdtDbtInd>{'CRDT' if amount > 0 else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>"
        f"<AcctSvcrRef>REF{n}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"
        "</NtryDtls></Ntry>" for n, (day, amount, text) in enumerate(lines))
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
            f"<BkToCstmrStmt><GrpHdr><MsgId>1</MsgId></GrpHdr><Stmt><Id>S1</Id><Acct><Id><Othr><Id>{ACCOUNT}</Id></Othr>"
            f"</Id><Ccy>NOK</Ccy></Acct>{entries}</Stmt></BkToCstmrStmt></Document>")


BANK_LINES = [("2026-11-02", -1_500_000, "Husleie 11.2026"), ("2026-11-02", 127_375, "Utb. 1001 Vippsnr 123455"),
              ("2026-11-04", 137_050, "Utb. 1002 Vippsnr 123455")]


def store_ledger(data: DataDir) -> None:
    """The hand-made ledger-days into the warehouse and lake as ingestion stores them, with their summaries."""
    schema = arrow_schema(False)
    stamp = FetchStamp(datetime(2026, 11, 26, tzinfo=UTC), "simulator")
    keys = [(LEDGER, d) for d in DATES]
    with open_for_write(data.warehouse) as connection:
        prepare_warehouse(connection, data, include_gdpr=False)
        with transaction(connection):
            for topic, table in TABLE_OF_TOPIC.items():
                batches = []
                balance = 0
                for day in DATES:
                    items = []
                    for n, (ledger_date, t, entry_type, psp, amount) in enumerate(ENTRIES):
                        if ledger_date == day and t == topic:
                            items.append({"pspReference": psp, "time": f"{day}T10:00:{n:02d}.000000Z",
                                          "ledgerDate": day, "entryType": entry_type, "reference": None,
                                          "currency": "NOK", "amount": amount, "balanceBefore": balance,
                                          "balanceAfter": balance + amount})
                            balance += amount
                    if items:
                        batches.append(entries_to_batch(page_batch(items), [Run(LEDGER, False, 1, len(items))], stamp,
                                                        schema, False))
                replace_slices(connection, table, keys, pa.Table.from_batches(batches, schema=schema))
            record_status(connection, [(LEDGER, d, topic, False, 1, stamp.fetched_at, "simulator")
                                       for d in DATES for topic in TABLE_OF_TOPIC])
        checked = check_and_summarize(connection, keys, True, RULES)
    wrong = {c.name: found for c, found in checked.failures.items() if found and c.name != "fresh_closed_dates"}
    assert not wrong  # every check passes (but freshness: these dates are weeks old)
    write_summary_files(data.lake, checked)


@pytest.fixture
def booked(tmp_path: Path) -> tuple[DataDir, Path]:
    data = DataDir(tmp_path / "data")
    ledger = Ledger(LEDGER, "NOK", ("api:123455",), {"ledgerId": LEDGER, "currency": "NOK",
                                                     "payoutBankAccount": {"scheme": "BBAN:NO", "id": ACCOUNT},
                                                     "owner": {"scheme": "business:NO:ORG", "id": "987654325"}})
    refresh_catalog([ledger], data.lake, "Europe/Oslo", datetime(2026, 11, 26, tzinfo=UTC), {})
    store_ledger(data)
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "nov.xml").write_text(camt053(BANK_LINES))
    outcome = build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert not any(outcome.failures.values()), outcome.failures
    return data, bank


def rows(data: DataDir, query: str) -> list[tuple]:
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        return connection.sql(query).fetchall()


def test_the_ui_column_types_are_the_warehouse_tables_types(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    for table in COLUMNS:
        actual = dict(rows(data, f"SELECT column_name, data_type FROM information_schema.columns "
                                 f"WHERE table_name = '{table}'"))
        declared = {c.name: c.type for c in summary_table_schema(table).columns}
        assert declared == actual, table


def test_every_known_entry_type_has_a_booking_rule() -> None:
    """A type NOTES.md lists never falls to suspense: only types nobody knows do."""
    assert {t: set(rules) for t, rules in BOOKED_AGAINST.items()} == \
        {t: set(types) for t, types in ENTRY_TYPES_BY_TOPIC.items()}


def test_journal_lines_of_the_worked_month(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    assert rows(data, "SELECT journal_id, line, account, account_role, debit, credit, entry_type, payout_number "
                      "FROM journal_lines ORDER BY ledger_date, line") == JOURNAL
    assert rows(data, "SELECT journal_id, line, account, account_role, debit, credit, entry_type, payout_number "
                      "FROM bank_journal_lines ORDER BY ledger_date, line") == BANK_JOURNAL


def test_monthly_statements_of_the_worked_month(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    assert rows(data, f"SELECT {', '.join(STATEMENT_COLUMNS)} FROM monthly_statement ORDER BY month") == STATEMENTS


def test_bank_matches_of_the_worked_month(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    assert rows(data, "SELECT payout_number, scheduled_on, booking_date, bank_amount, status, bank_days_to_arrive "
                      "FROM bank_matches ORDER BY payout_number") == [
        (1001, date(2026, 10, 29), date(2026, 11, 2), 127_375, "matched", 2),
        (1002, date(2026, 11, 2), date(2026, 11, 4), 137_050, "matched", 2)]


def export(data: DataDir, month: date = date(2026, 10, 1), **options: Any) -> ExportedMonth:
    return export_month(data, month, load_account_map(), options=ExportOptions(**options))


def test_october_export_lines(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    exported = export(data)
    assert sorted(p.name for p in exported.files) == ["books-900001-2026-10.xlsx", "journal-900001-2026-10.csv",
                                                      "saft-900001-2026-10.xml", "statement-900001-2026-10.csv"]
    assert (exported.folder / "journal-900001-2026-10.csv").read_bytes().decode() == OCTOBER_CSV.replace("\n", "\r\n")
    statement = list(csv.reader((exported.folder / "statement-900001-2026-10.csv").open()))
    assert ",".join(statement[1]) == OCTOBER_STATEMENT_CSV


def test_exporting_one_ledger_keeps_the_other_ledgers_files(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    folder = export(data).folder
    (folder / "journal-900002-2026-10.csv").write_text("another ledger's export\n")
    again = export_month(data, date(2026, 10, 1), load_account_map(), ledger_ids=[LEDGER])
    assert (again.folder / "journal-900002-2026-10.csv").read_text() == "another ledger's export\n"
    assert {p.name for p in again.files} < {p.name for p in again.folder.iterdir()}


def test_the_norwegian_dialect_opens_in_columns_with_decimal_commas(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    exported = export(data, dialect="norwegian")
    raw = (exported.folder / "journal-900001-2026-10.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark: Excel reads æøå right
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "voucher;date;account;vat_code;debit;credit;text;reference;payout_number;currency"
    assert lines[1] == "3021;29.10.2026;1571;0;1500,00;0,00;capture, 2 entries;900001-2026-10-29;;NOK"


def test_vouchers_keep_their_numbers_when_the_books_are_recomputed(booked: tuple[DataDir, Path]) -> None:
    data, bank = booked
    numbering = [(v.number, v.day, [line.reference for line in v.lines])
                 for v in export(data, date(2026, 11, 1)).ledgers[0].vouchers]
    assert [(n, d) for n, d, _ in numbering] == [(3051, date(2026, 11, 1)), (3061, date(2026, 11, 2)),
                                                  (3062, date(2026, 11, 2)), (3082, date(2026, 11, 4))]
    build_books(data, bank, load_account_map(), TODAY, 4, print)  # recomputed: the same vouchers, same numbers
    again = [(v.number, v.day, [line.reference for line in v.lines])
             for v in export(data, date(2026, 11, 1)).ledgers[0].vouchers]
    assert again == numbering


def test_bank_vouchers_switched_off_leave_the_arrivals_to_the_bank_feed(booked: tuple[DataDir, Path],
                                                                         tmp_path: Path) -> None:
    data, _ = booked
    path = tmp_path / "map.toml"
    path.write_text(DEFAULT_MAP.read_text().replace("bank_vouchers = true", "bank_vouchers = false"))
    exported = export_month(data, date(2026, 11, 1), load_account_map(path))
    assert [v.number % 10 for v in exported.ledgers[0].vouchers] == [1, 1]  # the settlements only
    assert any("bank_vouchers = false" in note for note in exported.notes)
    journal = (exported.folder / "journal-900001-2026-11.csv").read_text()
    assert ",1920," not in journal and "bank-" not in journal


def test_the_workbook_holds_the_totals_of_the_csv(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    exported = export(data, date(2026, 11, 1))
    journal = list(csv.DictReader((exported.folder / "journal-900001-2026-11.csv").open()))
    book = openpyxl.load_workbook(exported.folder / "books-900001-2026-11.xlsx")
    assert book.sheetnames == ["Journal", "Statement", "Bank matches", "Totals"]
    sheet = book["Journal"]
    assert sheet["E2"].number_format.startswith("#,##0.00") and isinstance(sheet["B2"].value, datetime)
    rows_read = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[0], f"{r[4]:.2f}", f"{r[5]:.2f}") for r in rows_read] == \
        [(int(r["voucher"]), r["debit"], r["credit"]) for r in journal]
    totals = {r[0]: r for r in book["Totals"].iter_rows(min_row=2, values_only=True)}
    for account in {r["account"] for r in journal}:
        debit = sum(Decimal(r["debit"]) for r in journal if r["account"] == account)
        credit = sum(Decimal(r["credit"]) for r in journal if r["account"] == account)
        assert (Decimal(str(totals[account][3])), Decimal(str(totals[account][4]))) == (debit, credit), account
    # The clearing account closes at the statement's closing funds balance; payouts in transit open at what
    # October's journals left there (payout 1001, 1273.75) and close at November's month end in transit (none).
    assert Decimal(str(totals["1571"][5])) == Decimal("0.00")
    assert (Decimal(str(totals["1579"][2])), Decimal(str(totals["1579"][5]))) == (Decimal("1273.75"), Decimal("0"))


def test_every_saft_file_validates_and_closes_at_the_statement(booked: tuple[DataDir, Path]) -> None:
    data, _ = booked
    schema = etree.XMLSchema(etree.parse(str(SAFT_XSD)))
    for month in (date(2026, 10, 1), date(2026, 11, 1)):
        exported = export(data, month, contact_person=("Kari", "Nordmann"))
        (path,) = [p for p in exported.files if p.name.startswith("saft-")]
        document = etree.parse(str(path))
        schema.assertValid(document)
        ns = {"s": "urn:StandardAuditFile-Taxation-Financial:NO"}
        closing = {a.findtext("s:AccountID", namespaces=ns): Decimal(
            a.findtext("s:ClosingDebitBalance", namespaces=ns) or "-" + a.findtext("s:ClosingCreditBalance",
                                                                                     namespaces=ns))
            for a in document.iterfind(".//s:GeneralLedgerAccounts/s:Account", ns)}
        statement = exported.ledgers[0].statement
        assert closing["1571"] * 100 == statement["closing_funds_balance"]
        assert closing.get("2401", Decimal(0)) * 100 == (statement["closing_fees_balance"] or 0)
        assert document.findtext(".//s:Company/s:RegistrationNumber", namespaces=ns) == "987654325"
        grouping = {a.findtext("s:AccountID", namespaces=ns): a.findtext("s:GroupingCode", namespaces=ns)
                    for a in document.iterfind(".//s:GeneralLedgerAccounts/s:Account", ns)}
        assert grouping["1571"] == "1570" and grouping["7770"] == "7700"  # the account's group, not a neighbour
        codes = {t.text for t in document.iterfind(".//s:Line/s:TaxInformation/s:TaxCode", ns)}
        assert codes == {"0"}  # a code on every line: the defaults book no VAT (the sales system does)


def test_an_unreadable_bank_file_is_set_aside_named_and_the_rest_of_the_books_computed(
        booked: tuple[DataDir, Path]) -> None:
    """November's statement split in two files, one cut off mid-way as a failed download leaves it: the good
    file's payout is matched and booked, the payout the broken one would show says statement_unreadable, the
    statements are computed, and the check names the file and why."""
    data, bank = booked
    (bank / "nov.xml").write_text(camt053(BANK_LINES[:2]))
    (bank / "nov-2.xml").write_text(camt053(BANK_LINES[2:])[:-40])
    outcome = build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert rows(data, "SELECT payout_number, status FROM bank_matches ORDER BY ALL") == [
        (1001, "matched"), (1002, "statement_unreadable")]
    assert rows(data, "SELECT DISTINCT payout_number FROM bank_journal_lines") == [(1001,)]
    assert rows(data, "SELECT count(*) FROM monthly_statement")[0][0] == 2
    (found,) = said(outcome.failures, "bank_files_readable")
    assert found.startswith("nov-2.xml: not well-formed XML") and "NO9386011117947" in found
    assert [check.name for check, found in outcome.failures.items() if found] == ["bank_files_readable"]
    # Another kind of file in the folder is set aside the same way; putting the original back mends everything.
    (bank / "nov-2.xml").write_text("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"/>")
    outcome = build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert said(outcome.failures, "bank_files_readable")[0].startswith("nov-2.xml: not a camt.053 bank statement")
    (bank / "nov-2.xml").write_text(camt053(BANK_LINES[2:]))
    assert not any(build_books(data, bank, load_account_map(), TODAY, 4, print).failures.values())
    assert rows(data, "SELECT payout_number, status FROM bank_matches ORDER BY ALL") == [
        (1001, "matched"), (1002, "matched")]


def test_a_payout_the_bank_reversed_is_not_taken_as_arrived(booked: tuple[DataDir, Path]) -> None:
    """Payout 1002 credited on 4 November and taken back by a reversal (RvslInd, a debit) the next day."""
    data, bank = booked
    text = camt053([*BANK_LINES, ("2026-11-05", -137_050, "Utb. 1002 Vippsnr 123455")])
    head, _, tail = text.rpartition("<CdtDbtInd>DBIT</CdtDbtInd>")
    (bank / "nov.xml").write_text(head + "<CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>" + tail)
    outcome = build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert rows(data, "SELECT payout_number, status, booking_date FROM bank_matches ORDER BY ALL") == [
        (1001, "matched", date(2026, 11, 2)), (1002, "reversed", date(2026, 11, 4))]
    assert rows(data, "SELECT DISTINCT payout_number FROM bank_journal_lines") == [(1001,)]
    assert said(outcome.failures, "payouts_arrived") == [
        "ledger 900001: payout 1002 of 2026-11-02 arrived on 2026-11-04 (nov.xml) and the bank reversed it: it is "
        "not on the account"]
    assert said(outcome.failures, "bank_lines_explained") == []  # the reversal is explained by the payout it reverses


def test_a_wrong_bank_amount_fails_its_check_and_is_not_booked(booked: tuple[DataDir, Path]) -> None:
    data, bank = booked
    (bank / "nov.xml").write_text(camt053([*BANK_LINES[:2], ("2026-11-04", 137_000, "Utb. 1002 Vippsnr 123455")]))
    outcome = build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert said(outcome.failures, "bank_amounts_match") == [
        "ledger 900001: payout 1002 of 2026-11-02 is 1,370.50 NOK, its bank line of 2026-11-04 "
        "('Utb. 1002 Vippsnr 123455', nov.xml) 1,370.00 NOK"]
    assert rows(data, "SELECT DISTINCT payout_number FROM bank_journal_lines") == [(1001,)]
    in_transit = rows(data, "SELECT in_transit_at_month_end FROM monthly_statement ORDER BY month")
    assert in_transit == [(127_375,), (137_050,)]  # 1002 stays in transit until someone looks


def test_a_payout_that_never_arrives_is_reported_with_its_age(booked: tuple[DataDir, Path]) -> None:
    data, bank = booked
    stray = ("2026-11-20", 55_500, "Utb. 1777 Vippsnr 123455")
    (bank / "nov.xml").write_text(camt053([*BANK_LINES[:2], stray]))
    outcome = build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert said(outcome.failures, "payouts_arrived") == [
        "ledger 900001: payout 1002 of 2026-11-02 (1,370.50 NOK) not on the bank statement after 18 "
        "bank days"]
    # The look-alike is booked after the last stored ledger date (2 November): it may be the payout of a date not
    # stored yet, so it is not judged (the quarter below has look-alikes that are).
    assert said(outcome.failures, "bank_lines_explained") == []
    assert not said(outcome.failures, "bank_amounts_match")


# -- a simulator quarter of the default ledgers: the ledger step's pipeline, then the books step ------------


QUARTER = ("2026-08-01", "2026-10-31")


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """August to October 2026 of the three default ledgers (NOK net with negative stretches and top-ups, DKK net
    with a reserve, EUR gross with fees invoiced; disputes and aborted payouts in all), the EUR ledger with an
    entry type nobody mapped now and then: the ledger-days stored as the ledger step's pipeline stores them (what
    Dagster records of that is test_assets' and test_summaries'), then the books computed by their step."""
    ledgers = default_ledgers(3, 60)
    ledgers = (*ledgers[:2], replace(ledgers[2], unknown_entry_rate=0.1))
    world = World(ledgers=ledgers)
    state = SimulatorState(world, clock=SimClock(FROZEN_NOW))
    root = tmp_path_factory.mktemp("quarter")
    data = DataDir(root / "data")
    bank = root / "bank"
    with ThreadedSimulator(state) as server, dg.instance_for_test(temp_dir=str(root)) as instance:
        books = books_step(project_settings(REPORT_ASSETS_BANK_DIR=str(bank)))
        resources = {"report_api": ReportApiResource(base_url=server.base_url),
                     "data_dir": DataDirResource(path=str(data.root))}
        findings: dict[str, list[Finding]] = {}
        for batch in store_directly(Sim(server), data, *QUARTER):
            for check, found in batch.failures.items():
                findings.setdefault(check.name, []).extend(found)
        first = dg.materialize([books], instance=instance, resources=resources)
        # A bank line corrupted (a wrong amount on a payout's credit) fails its check.
        statement = next(bank.glob("simulator-405512-2026-09.camt053.xml"))
        text = statement.read_text()
        payout_line = re.search(r'<Ntry>(?:(?!</Ntry>).)*?<Amt Ccy="DKK">([0-9]+\.[0-9]{2})</Amt>'
                                r"<CdtDbtInd>CRDT</CdtDbtInd>(?:(?!</Ntry>).)*?Utb\. (200[0-9]+)", text)
        assert payout_line is not None
        statement.write_text(text.replace(payout_line.group(0), payout_line.group(0).replace(
            f">{payout_line.group(1)}<", ">1.00<", 1), 1))
        corrupted = dg.materialize([books], instance=instance, resources=resources, raise_on_error=False)
        yield {"data": data, "world": world, "findings": findings,
               "first": first, "corrupted": corrupted, "corrupted_payout": int(payout_line.group(2))}


def books_checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """The books' checks: one each per run (the books are not partitioned)."""
    return {e.asset_check_evaluation_data.asset_check_key.name: e.asset_check_evaluation_data
            for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION}


def test_every_journal_of_the_quarter_balances(quarter: dict[str, Any]) -> None:
    data = quarter["data"]
    assert rows(data, "SELECT count(DISTINCT journal_id) FROM journal_lines")[0][0] == 3 * 92
    assert rows(data, "SELECT journal_id FROM (SELECT journal_id, sum(debit) - sum(credit) AS off FROM journal_lines "
                      "GROUP BY ALL UNION ALL SELECT journal_id, sum(debit) - sum(credit) FROM bank_journal_lines "
                      "GROUP BY ALL) WHERE off != 0") == []
    assert rows(data, "SELECT count(*) FROM journal_lines WHERE (debit > 0) = (credit > 0) OR debit < 0 "
                      "OR credit < 0")[0][0] == 0


@pytest.mark.parametrize(("role", "table"), [("funds_clearing", "funds_ledger"), ("fees_clearing", "fees_ledger")])
def test_clearing_accounts_tie_to_the_ledgers_at_every_day_end(quarter: dict[str, Any], role: str, table: str) -> None:
    """The account's balance (the ledger's opening balance on the first stored day, then every line booked to it)
    equals the ledger's last balanceAfter at the end of every ledger-day that has entries."""
    data = quarter["data"]
    mismatches = rows(data, f"""
        WITH booked AS (
            SELECT ledger_id, ledger_date, sum(debit - credit) AS moved FROM journal_lines
            WHERE account_role = '{role}' GROUP BY ALL
        ), days AS (
            SELECT ledger_id, ledger_date, arg_max(balance_after, position) AS day_end FROM {table} GROUP BY ALL
        ), opening AS (
            SELECT ledger_id, arg_min(balance_before, (ledger_date, position)) AS balance FROM {table} GROUP BY ALL
        ), account AS (
            SELECT d.ledger_id, d.ledger_date, d.day_end, o.balance + sum(coalesce(b.moved, 0))
                OVER (PARTITION BY d.ledger_id ORDER BY d.ledger_date) AS account_balance
            FROM days d JOIN opening o USING (ledger_id) LEFT JOIN booked b USING (ledger_id, ledger_date)
        )
        SELECT * FROM account WHERE account_balance != day_end""")
    assert mismatches == []
    assert rows(data, f"SELECT count(DISTINCT ledger_id) FROM {table}")[0][0] == 3


def test_the_quarter_has_every_kind_of_day(quarter: dict[str, Any]) -> None:
    """What the quarter is meant to cover is in it, so the ties above are tested on each kind of entry."""
    data = quarter["data"]
    roles = {r[0] for r in rows(data, "SELECT DISTINCT account_role FROM journal_lines")}
    assert roles == {"funds_clearing", "fees_clearing", "payouts_in_transit", "sales", "refunds", "fee_expense",
                     "disputes", "corrections", "top_up", "credit_notes", "fees_invoiced", "suspense"}
    assert rows(data, "SELECT DISTINCT entry_type FROM journal_lines WHERE account_role = 'suspense'") == \
        [("interest-credit",)]
    # The books' own checks of the journal (the raw data's are test_summaries'):
    found = quarter["findings"]
    suspense_lines = next(check for check in ALL_CHECKS if check.name == "suspense_lines")
    assert found["suspense_lines"] and not suspense_lines.blocking  # flagged, a warning, naming the type
    assert all("interest-credit" in finding.detail for finding in found["suspense_lines"])
    assert not found["journal_balances"] and not found["clearing_ties"]


def test_every_payout_is_matched_but_the_ones_the_bank_held_back(quarter: dict[str, Any]) -> None:
    data, world = quarter["data"], quarter["world"]
    first, last = (date.fromisoformat(d) for d in QUARTER)
    held_back, aborted, landed = set(), set(), {}
    for spec in world.ledgers:
        for arrival in arrivals(LedgerGenerator(world.seed, spec), first, last):
            key = (spec.ledger_id, arrival.payout_number)
            if arrival.aborted:
                aborted.add(key)
            elif arrival.lands_on is None:
                held_back.add(key)
            else:
                landed[key] = arrival.lands_on
    assert held_back and aborted  # the quarter has both, or this test proves less than it says
    evaluations = books_checks(quarter["first"])
    assert quarter["first"].success and evaluations["bank_amounts_match"].passed
    assert evaluations["payouts_arrived"].passed is False  # the held-back ones, warned about
    assert evaluations["payouts_arrived"].severity == dg.AssetCheckSeverity.WARN
    assert evaluations["statement_ties"].passed
    matches = {(r[0], r[1]): (r[2], r[3]) for r in rows(
        data, "SELECT ledger_id, payout_number, status, booking_date FROM bank_matches WHERE scheduled_on IS NOT NULL")}
    # The tables now are those of the run after the corruption: its payout is the one exception.
    corrupted = ("405512", quarter["corrupted_payout"])
    assert {k for k, (s, _) in matches.items() if s == "not_arrived"} == held_back
    assert {k for k, (s, _) in matches.items() if s == "aborted"} == aborted
    assert {k: d for k, (s, d) in matches.items() if s in ("matched", "amount_mismatch")} == landed
    assert matches[corrupted][0] == "amount_mismatch"
    assert all(s == "matched" for k, (s, _) in matches.items() if k in landed and k != corrupted)


def test_a_corrupted_bank_line_fails_its_check(quarter: dict[str, Any]) -> None:
    evaluation = books_checks(quarter["corrupted"])["bank_amounts_match"]
    assert evaluation.passed is False and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert f"payout {quarter['corrupted_payout']}" in evaluation.metadata["first_failures"].value
    assert rows(quarter["data"], "SELECT count(*) FROM bank_journal_lines WHERE payout_number = "
                                 f"{quarter['corrupted_payout']} AND ledger_id = '405512'")[0][0] == 0


def test_stray_look_alikes_are_flagged(quarter: dict[str, Any]) -> None:
    flagged = rows(quarter["data"], "SELECT bank_reference FROM bank_matches WHERE status = 'unmatched_bank_line'")
    assert flagged and all(r[0].startswith("STRAY-") for r in flagged)


def test_without_bank_statements_payouts_wait_in_transit_unjudged(booked: tuple[DataDir, Path],
                                                                  tmp_path: Path) -> None:
    data, _ = booked
    empty = tmp_path / "no-statements-yet"
    outcome = build_books(data, empty, load_account_map(), TODAY, 4, print)
    assert not any(outcome.failures.values())
    assert rows(data, "SELECT payout_number, status, bank_days_open FROM bank_matches ORDER BY ALL") == [
        (1001, "no_statement_yet", 20), (1002, "no_statement_yet", 18)]
    assert rows(data, "SELECT count(*) FROM bank_journal_lines")[0][0] == 0
    assert rows(data, "SELECT in_transit_at_month_end FROM monthly_statement ORDER BY month") == [(127_375,),
                                                                                                 (264_425,)]


def test_a_shared_payout_account_is_told_apart_by_the_vipps_number(booked: tuple[DataDir, Path]) -> None:
    """Two sales units paying out to one account: the bank text's Vipps number says whose a payout is."""
    data, bank = booked
    other = Ledger("900002", "NOK", ("api:999999",), {"ledgerId": "900002", "currency": "NOK",
                                                      "payoutBankAccount": {"scheme": "BBAN:NO", "id": ACCOUNT},
                                                     "owner": {"scheme": "business:NO:ORG", "id": "987654325"}})
    mine = Ledger(LEDGER, "NOK", ("api:123455",), {"ledgerId": LEDGER, "currency": "NOK",
                                                   "payoutBankAccount": {"scheme": "BBAN:NO", "id": ACCOUNT},
                                                     "owner": {"scheme": "business:NO:ORG", "id": "987654325"}})
    refresh_catalog([mine, other], data.lake, "Europe/Oslo", datetime(2026, 11, 26, tzinfo=UTC), {})
    (bank / "nov.xml").write_text(camt053([*BANK_LINES[:2], ("2026-11-04", 137_050, "Utb. 1002 Vippsnr 999999")]))
    build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert rows(data, "SELECT ledger_id, payout_number, status FROM bank_matches ORDER BY ALL") == [
        (LEDGER, 1001, "matched"), (LEDGER, 1002, "not_arrived")]


CAMT_053_08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <Stmt>
      <Acct>
        <Id><Othr><Id>8601 11 17947</Id></Othr></Id>
        <Ccy>NOK</Ccy>
      </Acct>
      <Ntry>
        <Amt Ccy="NOK">1273.75</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>
          <Cd>BOOK</Cd>
        </Sts>
        <BookgDt><DtTm>2026-11-02T06:00:00+01:00</DtTm></BookgDt>
        <AddtlNtryInf>Utb. 1001 Vippsnr 123455</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="NOK">1370.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>
          <Cd>PDNG</Cd>
        </Sts>
        <BookgDt><Dt>2026-11-04</Dt></BookgDt>
        <AddtlNtryInf>Utb. 1002 Vippsnr 123455</AddtlNtryInf>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_a_newer_pretty_printed_statement_is_read_alike(booked: tuple[DataDir, Path]) -> None:
    """camt.053.001.08 as some banks send it: status as a code, booking time, spaced account number, indented.
    Booked lines count; a pending one is not on the account yet (so the statement reaches 2 November only, and
    payout 1002 of that day is not judged)."""
    data, bank = booked
    (bank / "nov.xml").write_text(CAMT_053_08)
    build_books(data, bank, load_account_map(), TODAY, 4, print)
    assert rows(data, "SELECT payout_number, status, booking_date FROM bank_matches ORDER BY ALL") == [
        (1001, "matched", date(2026, 11, 2)), (1002, "no_statement_yet", None)]


def test_a_month_stored_with_a_gap_gets_a_statement_that_names_it_and_no_failed_check(tmp_path: Path) -> None:
    """9-15 and 17-20 November stored (as a backfill beside the schedule's week leaves it), 16 November never:
    the statement names the missing dates, ties over what is stored, and states what the balances moved across
    the gap; once 16 November is stored, that figure is what its entries did. (The books count days up to the
    real today, after November.)"""
    world = World(ledgers=default_ledgers(3, 60))
    state = SimulatorState(world, clock=SimClock(FROZEN_NOW))
    data = DataDir(tmp_path / "data")
    with ThreadedSimulator(state) as server, dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        books = books_step(project_settings(REPORT_ASSETS_BANK_DIR=str(tmp_path / "bank")))
        resources = {"report_api": ReportApiResource(base_url=server.base_url),
                     "data_dir": DataDirResource(path=str(data.root))}

        def store(first: str, last: str) -> None:  # as the ledger step's pipeline stores them
            assert all(not o.failed for batch in store_directly(Sim(server), data, first, last)
                       for o in batch.dates)

        store("2026-11-09", "2026-11-15")
        store("2026-11-17", "2026-11-20")
        gapped = dg.materialize([books], instance=instance, resources=resources)
        statements = rows(data, "SELECT ledger_id, missing_dates, moved_on_missing_dates, is_final "
                                "FROM monthly_statement ORDER BY ledger_id")
        store("2026-11-16", "2026-11-16")
        moved_on_the_16th = dict(rows(data, "SELECT ledger_id, sum(amount) FROM (SELECT ledger_id, ledger_date, amount "
                                            "FROM funds_ledger UNION ALL SELECT ledger_id, ledger_date, amount FROM "
                                            "fees_ledger) WHERE ledger_date = '2026-11-16' GROUP BY ALL"))
        whole = dg.materialize([books], instance=instance, resources=resources)
        after = rows(data, "SELECT ledger_id, missing_dates, moved_on_missing_dates FROM monthly_statement")
    evaluations = books_checks(gapped)
    assert evaluations["statement_ties"].passed, evaluations["statement_ties"].metadata
    assert [(ledger, missing, final) for ledger, missing, _, final in statements] == [
        (ledger, "2026-11-01..2026-11-08, 2026-11-16, 2026-11-21..2026-11-30", False) for ledger, *_ in statements]
    assert {ledger: moved for ledger, _, moved, _ in statements} == moved_on_the_16th
    assert any(moved_on_the_16th.values())  # the gap is not trivially empty
    assert books_checks(whole)["statement_ties"].passed
    assert {(missing, moved) for _, missing, moved in after} == {("2026-11-01..2026-11-08, 2026-11-21..2026-11-30", 0)}
