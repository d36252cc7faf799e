"""camt.053 as real banks write it (the files in bank_files/, each modelled on a kind of real statement and
described at its top): every version and form read into the same bank lines, the .02 and .08 files valid against
ISO 20022's schemas, equal entries kept apart and the same entry delivered twice counted once."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from report_assets.books.camt053 import read_bank_folder, read_statement

FILES = Path(__file__).parent / "bank_files"
SCHEMAS = Path(__file__).parent / "spec" / "iso20022"
NO, DK, FI = "NO9386011117947", "DK9430004012345678", "FI2112345600000785"
# (account key, booking date, amount in minor units, text, reversal) of every booked line of the folder
EXPECTED = sorted([
    (NO, date(2025, 12, 30), 127_375, "Utb. 2002183 Vippsnr 123455", False),  # in the daily and the monthly file
    (NO, date(2025, 12, 22), 25_000, "Kortoppgjør", False),  # two equal card settlements, no bank reference
    (NO, date(2025, 12, 22), 25_000, "Kortoppgjør", False),
    (NO, date(2025, 12, 29), 10_000, "Faktura 1001", False),  # one batch entry of three transactions
    (NO, date(2025, 12, 29), 20_000, "Faktura 1002", False),
    (NO, date(2025, 12, 29), 30_000, "Faktura 1003", False),
    (NO, date(2025, 12, 31), -127_375, "Utb. 2002183 Vippsnr 123455", True),  # the payout reversed
    (NO, date(2025, 12, 1), -1_500_000, "Husleie 12.2025", False),  # .001.04, dates with offsets, dotted BBAN
    (NO, date(2025, 12, 19), 127_375, "Utb. 2002177 Vippsnr 123455", False),
    (FI, date(2025, 12, 31), 8_810, "Utb. 2002189 Vippsnr 765432", False),  # second statement, Finnish short form
    (DK, date(2025, 12, 30), 512_025, "Utb. 2002183 Vippsnr 54321", False),  # .001.08, DtTm, reg. no. + account
])


def lines_of(folder: Path) -> list[tuple]:
    table = read_bank_folder(folder).lines
    return sorted(zip(*(table.column(c).to_pylist() for c in ("account_key", "booking_date", "amount", "text",
                                                              "reversal")), strict=True))


@pytest.mark.parametrize(("name", "version"), [("no-bank-monthly-camt053.001.02.xml", "02"),
                                               ("no-bank-daily-2025-12-30-camt053.001.02.xml", "02"),
                                               ("dk-bank-camt053.001.08.xml", "08")])
def test_the_test_files_are_valid_against_iso_20022s_schema(name: str, version: str) -> None:
    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / f"camt.053.001.{version}.xsd")))
    assert xsd.validate(etree.parse(str(FILES / name))), xsd.error_log.last_error


def test_every_version_and_form_is_read_into_the_same_bank_lines() -> None:
    assert lines_of(FILES) == EXPECTED
    assert read_bank_folder(FILES).unreadable == []


def test_a_file_dropped_in_twice_adds_nothing(tmp_path: Path) -> None:
    shutil.copytree(FILES, tmp_path / "bank")
    for name in ("no-bank-monthly-camt053.001.02.xml", "two-accounts-offset-dates-camt053.001.04.xml"):
        shutil.copy(FILES / name, tmp_path / "bank" / name.replace(".xml", " (1).xml"))
    assert lines_of(tmp_path / "bank") == EXPECTED


def test_two_equal_entries_in_one_file_stay_two() -> None:
    lines = read_statement(FILES / "no-bank-monthly-camt053.001.02.xml")
    cards = [line for line in lines if line.text == "Kortoppgjør"]
    assert len(cards) == 2 and len({line.line_id for line in cards}) == 2


def test_a_pretty_printed_file_and_the_same_file_on_one_line_read_alike(tmp_path: Path) -> None:
    pretty = FILES / "no-bank-monthly-camt053.001.02.xml"
    text = re.sub(r"<!--.*?-->", "", pretty.read_text(), flags=re.S)
    (tmp_path / "minified.xml").write_text(re.sub(r">\s+<", "><", text))
    assert [(line.line_id, line.amount, line.text) for line in read_statement(tmp_path / "minified.xml")] == \
        [(line.line_id, line.amount, line.text) for line in read_statement(pretty)]


def test_a_cut_off_file_is_set_aside_with_what_it_still_shows(tmp_path: Path) -> None:
    shutil.copytree(FILES, tmp_path / "bank")
    whole = (FILES / "dk-bank-camt053.001.08.xml").read_bytes()
    (tmp_path / "bank" / "dk-bank-camt053.001.08.xml").write_bytes(whole[: len(whole) * 2 // 3])
    folder = read_bank_folder(tmp_path / "bank")
    (unreadable,) = folder.unreadable
    assert unreadable.statement_file == "dk-bank-camt053.001.08.xml"
    assert unreadable.reason.startswith("not well-formed XML") and unreadable.account_key == DK
    assert lines_of(tmp_path / "bank") == [line for line in EXPECTED if line[0] != DK]
