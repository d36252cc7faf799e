"""The simulator's bank as a real bank's file transfer would be judged: every statement valid camt.053.001.02
against ISO 20022's own schema, nothing booked on a bank holiday, payouts landing T+2 bank days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree

from report_assets.books.camt053 import read_statement
from report_assets.core.bank_days import add_bank_days, is_bank_day
from report_assets.simulator.bank import NoStatementYet, arrivals, camt053, country_of_account
from report_assets.simulator.generator import LedgerGenerator
from report_assets.simulator.world import DEFAULT_SEED, default_ledgers

SCHEMAS = Path(__file__).parent / "spec" / "iso20022"
CREATED = datetime(2026, 11, 25, 12, tzinfo=UTC)
MONTHS = [(year, month) for year in (2024, 2025, 2026) for month in range(1, 13) if (year, month) <= (2026, 11)]


def schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"camt.053.001.{version}.xsd")))


def test_every_simulated_statement_is_valid_camt_053_001_02(tmp_path: Path) -> None:
    """Three years of the three default ledgers (NOK, DKK, EUR), the month in progress included: 105 files."""
    xsd = schema("02")
    invalid, files = [], 0
    for spec in default_ledgers(3, 30):
        generator = LedgerGenerator(DEFAULT_SEED, spec)
        for year, month in MONTHS:
            document = etree.fromstring(camt053(generator, year, month, date(2026, 11, 24), CREATED))
            files += 1
            if not xsd.validate(document):
                invalid.append(f"{spec.ledger_id} {year}-{month:02d}: {xsd.error_log.last_error}")
            ns = {"c": document.nsmap[None]}
            period_from = document.findtext(".//c:Stmt/c:FrToDt/c:FrDtTm", namespaces=ns)
            period_to = document.findtext(".//c:Stmt/c:FrToDt/c:ToDtTm", namespaces=ns)
            assert period_from < period_to, (spec.ledger_id, year, month)
    assert files == 105 and invalid == []


def test_a_month_with_no_closed_day_has_no_statement() -> None:
    generator = LedgerGenerator(DEFAULT_SEED, default_ledgers(1, 30)[0])
    with pytest.raises(NoStatementYet, match="2026-12"):
        camt053(generator, 2026, 12, date(2026, 11, 30), CREATED)


def test_the_bank_books_nothing_on_a_bank_holiday_and_lands_payouts_two_bank_days_later(tmp_path: Path) -> None:
    for spec in default_ledgers(3, 30):
        generator = LedgerGenerator(DEFAULT_SEED, spec)
        country = country_of_account(spec)
        for year, month in MONTHS:
            path = tmp_path / f"{spec.ledger_id}-{year}-{month}.xml"
            path.write_bytes(camt053(generator, year, month, date(2026, 11, 24), CREATED))
            booked = {line.booking_date for line in read_statement(path)}
            assert all(is_bank_day(country, day) for day in booked), (spec.ledger_id, sorted(booked))
        landed = [a for a in arrivals(generator, date(2024, 1, 1), date(2026, 11, 20)) if a.lands_on]
        on_time = [a for a in landed if a.lands_on == add_bank_days(country, a.scheduled_on, 2)]
        assert len(on_time) > 0.85 * len(landed)  # the rest land late, a few bank days more, on purpose
        assert all(a.lands_on >= add_bank_days(country, a.scheduled_on, 2) for a in landed)
