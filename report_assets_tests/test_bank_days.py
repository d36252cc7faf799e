"""Bank days across Christmas and Easter, and accounts in the forms banks write them, through the books: the
default ledgers' simulator data around both holidays stored by Dagster, their bank statements put in the bank
folder as a bank delivers them, then the books built as the books step builds them."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from typing import Any

import duckdb
import pytest

from report_assets.books.build import build_books
from report_assets.core.bank_days import add_bank_days, bank_holidays
from report_assets.lake.data_dir import DataDir
from report_assets.simulator.app import SimClock, SimulatorState
from report_assets.simulator.bank import camt053
from report_assets.simulator.generator import LedgerGenerator
from report_assets.simulator.server import ThreadedSimulator
from report_assets.simulator.world import World, default_ledgers
from report_assets.transforms.accounts import load_account_map
from report_assets_tests.conftest import FROZEN_NOW, Sim, said, store_directly

WINDOWS = (("2025-12-15", "2026-01-06"), ("2026-03-25", "2026-04-10"))  # Christmas, Easter 2026 (5 April)
MONTHS = ((2025, 12), (2026, 1), (2026, 3), (2026, 4))
NOK, DKK, EUR = "302321", "405512", "517734"


@pytest.mark.parametrize(("country", "scheduled", "lands"), [
    ("NO", date(2025, 12, 23), date(2025, 12, 30)),  # 24, 25, 26 closed, then the weekend
    ("DK", date(2025, 12, 23), date(2025, 12, 30)),
    ("FI", date(2025, 12, 29), date(2025, 12, 31)),  # Finnish banks are open on New Year's Eve
    ("NO", date(2025, 12, 30), date(2026, 1, 5)),  # 31 December and 1 January closed
    ("NO", date(2026, 4, 1), date(2026, 4, 8)),  # Maundy Thursday, Good Friday, Easter Monday closed
    ("FI", date(2026, 4, 1), date(2026, 4, 7)),  # Maundy Thursday is a bank day in Finland
    ("DK", date(2026, 5, 13), date(2026, 5, 19)),  # Ascension Day (14th) and the Friday after it closed
    ("NO", date(2026, 5, 15), date(2026, 5, 19)),  # 17 May is a Sunday in 2026; the 18th is an ordinary day
])
def test_t_plus_two_counts_each_countrys_bank_days(country: str, scheduled: date, lands: date) -> None:
    assert add_bank_days(country, scheduled, 2) == lands


def test_each_country_has_its_own_bank_holidays() -> None:
    assert {date(2026, 12, 24), date(2026, 12, 31), date(2026, 5, 17)} <= bank_holidays("NO", 2026)
    assert {date(2026, 6, 5), date(2026, 5, 15)} <= bank_holidays("DK", 2026)  # Constitution Day, Ascension + 1
    assert date(2026, 5, 1) not in bank_holidays("DK", 2026)
    assert {date(2026, 6, 19), date(2026, 12, 6), date(2026, 1, 6)} <= bank_holidays("FI", 2026)  # Midsummer Eve
    assert date(2026, 12, 31) not in bank_holidays("FI", 2026)


def statement(world: World, ledger_id: str, year: int, month: int, through: date) -> bytes:
    return camt053(LedgerGenerator(world.seed, world.ledger(ledger_id)), year, month, through, FROZEN_NOW)


@pytest.fixture(scope="module")
def holidays_stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The ledger dates around Christmas 2025 and Easter 2026 of the three default ledgers, stored as the ledger
    step's pipeline stores them."""
    world = World(ledgers=default_ledgers(3, 30))
    root = tmp_path_factory.mktemp("holidays")
    data = DataDir(root / "data")
    with ThreadedSimulator(SimulatorState(world, clock=SimClock(FROZEN_NOW))) as server:
        for first, last in WINDOWS:
            for batch in store_directly(Sim(server), data, first, last):
                assert all(not o.failed for o in batch.dates)
    yield {"world": world, "data": data, "root": root}


def books_with(stored: dict[str, Any], name: str, statements: dict[str, bytes], today: date) -> tuple[DataDir, Any]:
    """The books of a copy of the stored data with these files in its bank folder."""
    data = DataDir(stored["root"] / name / "data")
    shutil.copytree(stored["data"].root, data.root)
    bank = stored["root"] / name / "bank"
    bank.mkdir()
    for file_name, body in statements.items():
        (bank / file_name).write_bytes(body)
    return data, build_books(data, bank, load_account_map(), today, 4, print)


def matches(data: DataDir) -> dict[tuple[str, int], tuple[Any, ...]]:
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        found = connection.sql("SELECT ledger_id, payout_number, status, booking_date, bank_days_to_arrive, "
                               "bank_days_open FROM bank_matches WHERE scheduled_on IS NOT NULL").fetchall()
    return {(r[0], r[1]): r[2:] for r in found}


def test_payouts_across_christmas_and_easter_arrive_two_bank_days_later(holidays_stored: dict[str, Any]) -> None:
    world = holidays_stored["world"]
    files = {f"{ledger_id}-{year}-{month:02d}.xml": statement(world, ledger_id, year, month, date(2026, 4, 30))
             for ledger_id in (NOK, DKK, EUR) for year, month in MONTHS}
    data, outcome = books_with(holidays_stored, "whole", files, date(2026, 5, 4))
    found = matches(data)
    # (status, booking date, bank days to arrive, bank days open)
    assert found[(NOK, 2002183)] == ("matched", date(2025, 12, 30), 2, None)  # scheduled 23 December
    assert found[(DKK, 2002183)] == ("matched", date(2025, 12, 30), 2, None)
    assert found[(EUR, 2002189)] == ("matched", date(2025, 12, 31), 2, None)  # scheduled 29 December
    assert found[(NOK, 2002190)] == ("matched", date(2026, 1, 5), 2, None)  # scheduled 30 December
    assert found[(NOK, 2002282)] == ("matched", date(2026, 4, 8), 2, None)  # scheduled 1 April
    assert found[(EUR, 2002282)] == ("matched", date(2026, 4, 7), 2, None)
    # Scheduled on a holiday (Christmas Day): two bank days after it, the first bank day after Boxing Day counted.
    assert found[(NOK, 2002185)] == ("matched", date(2025, 12, 30), 2, None)
    on_time = [v for v in found.values() if v[0] == "matched"]
    assert len(on_time) > 60 and all(v[2] >= 2 for v in on_time)
    # Weeks of January to March are not stored: their bank lines are said once per ledger, not one by one.
    explained = said(outcome.failures, "bank_lines_explained")
    assert len(explained) == 3 and all("2026-01" in line and "2026-03" in line and "not judged" in line
                                       for line in explained), explained
    assert not any("matches none" in line for line in explained)


@pytest.mark.parametrize(("month", "through", "today", "payout", "ages"), [
    # Statements through 22 December; on 2 January the payouts of the 22nd have waited 4 bank days in Norway and
    # Denmark (23, 29, 30 December and 2 January) and 5 in Finland (31 December too), not 9 weekdays.
    ((2025, 12), date(2025, 12, 22), date(2026, 1, 2), 2002182, {NOK: 4, DKK: 4, EUR: 5}),
    # Statements through 31 March; on 8 April the payouts of the 31st have waited 3 bank days in Norway and Denmark
    # (1, 7, 8 April) and 4 in Finland (Maundy Thursday too), not 6 weekdays.
    ((2026, 3), date(2026, 3, 31), date(2026, 4, 8), 2002281, {NOK: 3, DKK: 3, EUR: 4}),
], ids=["christmas", "easter"])
def test_a_payout_waiting_over_the_holidays_ages_in_bank_days(holidays_stored: dict[str, Any],
                                                              month: tuple[int, int], through: date, today: date,
                                                              payout: int, ages: dict[str, int]) -> None:
    world = holidays_stored["world"]
    files = {f"{ledger_id}-{month[0]}-{month[1]:02d}.xml": statement(world, ledger_id, *month, through)
             for ledger_id in (NOK, DKK, EUR)}
    data, _ = books_with(holidays_stored, f"waiting-{through}", files, today)
    found = matches(data)
    assert {ledger_id: found[(ledger_id, payout)] for ledger_id in ages} == \
        {ledger_id: ("no_statement_yet", None, None, age) for ledger_id, age in ages.items()}


ACCOUNT_FORMS = {  # how banks and people write each default ledger's payout account, besides the IBAN
    "bban": {NOK: "86011117947", DKK: "30004012345678", EUR: "12345600000785"},
    "dotted": {NOK: "8601.11.17947", DKK: "3000-4012345678", EUR: "123456-785"},
    "spaced": {NOK: "NO93 8601 1117 947", DKK: "DK94 3000 4012 3456 78", EUR: "FI21 1234 5600 0007 85"},
}


def with_account(body: bytes, written: str) -> bytes:
    """The statement with its account rewritten: an IBAN stays an IBAN element, any other form goes in Othr/Id."""
    element = f"<IBAN>{written}</IBAN>" if written[:2].isalpha() else f"<Othr><Id>{written}</Id></Othr>"
    return re.sub(rb"<IBAN>[^<]+</IBAN>", element.encode(), body, count=1)


@pytest.mark.parametrize("form", sorted(ACCOUNT_FORMS))
def test_statements_naming_the_account_in_any_form_match_the_same_payouts(holidays_stored: dict[str, Any],
                                                                         form: str) -> None:
    world = holidays_stored["world"]
    delivered = {(ledger_id, year, month): statement(world, ledger_id, year, month, date(2026, 4, 30))
                 for ledger_id in (NOK, DKK, EUR) for year, month in MONTHS}
    as_iban, _ = books_with(holidays_stored, f"iban-{form}",
                            {f"{k[0]}-{k[1]}-{k[2]}.xml": body for k, body in delivered.items()}, date(2026, 5, 4))
    rewritten, _ = books_with(holidays_stored, form, {
        f"{k[0]}-{k[1]}-{k[2]}.xml": with_account(body, ACCOUNT_FORMS[form][k[0]]) for k, body in delivered.items()},
        date(2026, 5, 4))
    expected = matches(as_iban)
    assert sum(1 for v in expected.values() if v[0] == "matched") > 60
    assert matches(rewritten) == expected
