"""The bank side of the simulator's world: each ledger's payout account as ISO 20022 camt.053 statements.

A scheduled payout arrives as a credit two bank days later (T+2, in the bank days of the account's country:
nothing is booked on a weekend or a bank holiday) with the text ``Utb. <payout number> Vippsnr <serial>``; a few
arrive later, a few never (held back: blocked by the provider), and an aborted payout never leaves. Other lines
share the account: rent, card settlements, a transfer in, and now and then a line that looks like a Vipps
MobilePay payout but is none of this ledger's. On the last bank day of each month the balance above a working
float is swept to the operating account, so each month's statement opens at that float and can be generated
without the months before it. The statements are camt.053.001.02, valid against ISO 20022's schema (tested), and
name the account by IBAN, as Nordic banks do.
"""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from report_assets.core.bank_accounts import COUNTRY_OF_CURRENCY, account_country, account_key
from report_assets.core.bank_days import add_bank_days, bank_days_between
from report_assets.core.money import major_text
from report_assets.simulator.generator import DAY, LedgerGenerator, iter_dates, rng_for
from report_assets.simulator.world import LedgerSpec

CAMT_053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
FLOAT = 5_000_000  # the working float the account keeps, minor units
HELD_BACK_RATE = 0.02
LATE_RATE = 0.05
TEXT_LIMIT = 35  # characters of an unstructured remittance line


class NoStatementYet(ValueError):
    """A month whose first day has not closed at the bank: no statement exists for it yet."""


@dataclass(frozen=True)
class BankLine:
    booking_date: date
    amount: int  # minor units, credit positive
    text: str
    reference: str


@dataclass(frozen=True)
class Arrival:
    """What happens to one scheduled payout at the bank: when it lands, or None when held back."""

    scheduled_on: date
    payout_number: int
    amount: int
    lands_on: date | None
    aborted: bool


def iban_of(spec: LedgerSpec) -> str:
    """The payout account as its bank's statement names it: the IBAN."""
    return account_key(spec.bank_account, COUNTRY_OF_CURRENCY.get(spec.currency))


def country_of_account(spec: LedgerSpec) -> str:
    return account_country(iban_of(spec), spec.currency)


def serial_of(generator: LedgerGenerator) -> str:
    """The Vipps number the bank text names: the digits of the ledger's first sales unit."""
    return "".join(ch for ch in generator.spec.recipient_handles[0] if ch.isdigit())


def payout_text(payout_number: int, serial: str) -> str:
    return f"Utb. {payout_number} Vippsnr {serial}"[:TEXT_LIMIT]


def arrivals(generator: LedgerGenerator, first: date, last: date) -> list[Arrival]:
    """The payouts scheduled from ``first`` to ``last``, and what the bank does with each."""
    result = []
    country = country_of_account(generator.spec)
    for day in iter_dates(first, last):
        amount = generator.payout_amount(day)
        if amount <= 0:
            continue
        following = day + timedelta(days=3 if day.weekday() == 4 else 1)
        aborted = generator.aborted_payout(following) != 0
        draw = rng_for(generator.seed, generator.spec.ledger_id, day, "bank")
        fate = draw.random()
        lands_on = None if aborted or fate < HELD_BACK_RATE else add_bank_days(
            country, day, 2 + (draw.randint(3, 5) if fate < HELD_BACK_RATE + LATE_RATE else 0))
        result.append(Arrival(day, generator.payout_number(day), amount, lands_on, aborted))
    return result


def month_lines(generator: LedgerGenerator, year: int, month: int, through: date) -> list[BankLine]:
    """The account's booked lines of a month, up to ``through`` (the bank's last closed day)."""
    first = date(year, month, 1)
    last = min(date(year, month, calendar.monthrange(year, month)[1]), through)
    if last < first:
        return []
    lid = generator.spec.ledger_id
    serial = serial_of(generator)
    lines = [BankLine(a.lands_on, a.amount, payout_text(a.payout_number, serial),
                      f"BNK{a.lands_on:%y%m%d}{a.payout_number % 100_000:05d}")
             for a in arrivals(generator, first - timedelta(days=20), last)
             if a.lands_on is not None and first <= a.lands_on <= last]
    rng = rng_for(generator.seed, lid, year, month, "bank-other")
    country = country_of_account(generator.spec)
    business = list(bank_days_between(country, first, last))
    if business:
        lines.append(BankLine(business[0], -(1_500_000 + rng.randint(0, 20) * 50_000), f"Husleie {first:%m.%Y}",
                              f"RENT-{first:%Y%m}"))
    for day in business:
        if day.weekday() == 0:
            lines.append(BankLine(day, 100_000 + int(2_000_000 * rng.random()), f"Kortoppgjør {day:%d.%m}",
                                  f"CARD-{day:%Y%m%d}"))
    if business and rng.random() < 0.5:
        lines.append(BankLine(rng.choice(business), 500_000 + int(5_000_000 * rng.random()),
                              "Overføring fra sparekonto", f"TRF-{first:%Y%m}"))
    if business and rng.random() < 0.3:  # another sales unit's payout, say: looks like one, matches none here
        stray = 2_900_000 + rng.randint(0, 99_999)
        lines.append(BankLine(rng.choice(business), 10_000 + int(3_000_000 * rng.random()),
                              payout_text(stray, serial), f"STRAY-{first:%Y%m}"))
    month_end = max(bank_days_between(country, first, date(year, month, calendar.monthrange(year, month)[1])),
                    default=None)
    lines.sort(key=lambda line: (line.booking_date, line.reference))
    if month_end is not None and month_end <= last and sum(line.amount for line in lines):
        lines.append(BankLine(month_end, -sum(line.amount for line in lines), "Overføring til driftskonto",
                              f"SWEEP-{first:%Y%m}"))
    return lines


def camt053(generator: LedgerGenerator, year: int, month: int, through: date, created: datetime) -> bytes:
    """The month's statement of the ledger's payout account, as a bank delivers it, through ``through`` (the
    bank's last closed day); a month none of whose days has closed has no statement (``NoStatementYet``)."""
    spec = generator.spec
    first = date(year, month, 1)
    last = min(date(year, month, calendar.monthrange(year, month)[1]), through)
    if last < first:
        raise NoStatementYet(f"no day of {first:%Y-%m} has closed at the bank (its last closed day is {through})")
    lines = month_lines(generator, year, month, through)
    ET.register_namespace("", CAMT_053)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CAMT_053}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    def amount(parent: ET.Element, value: int) -> None:
        sub(parent, "Amt", major_text(abs(value), spec.currency), Ccy=spec.currency)
        sub(parent, "CdtDbtInd", "CRDT" if value >= 0 else "DBIT")

    def balance(parent: ET.Element, code: str, value: int, on: date) -> None:
        element = sub(parent, "Bal")
        sub(sub(sub(element, "Tp"), "CdOrPrtry"), "Cd", code)
        amount(element, value)
        sub(sub(element, "Dt"), "Dt", on.isoformat())

    document = ET.Element(f"{{{CAMT_053}}}Document")
    iban = iban_of(spec)
    statement_id = f"{iban}-{first:%Y%m}"
    report = sub(document, "BkToCstmrStmt")
    header = sub(report, "GrpHdr")
    sub(header, "MsgId", statement_id)
    sub(header, "CreDtTm", created.isoformat(timespec="seconds"))
    statement = sub(report, "Stmt")
    sub(statement, "Id", statement_id)
    sub(statement, "CreDtTm", created.isoformat(timespec="seconds"))
    period = sub(statement, "FrToDt")
    sub(period, "FrDtTm", f"{first.isoformat()}T00:00:00")
    sub(period, "ToDtTm", f"{last.isoformat()}T23:59:59")
    account = sub(statement, "Acct")
    account_id = sub(account, "Id")
    sub(account_id, "IBAN", iban)
    sub(account, "Ccy", spec.currency)
    balance(statement, "OPBD", FLOAT, first - DAY)
    balance(statement, "CLBD", FLOAT + sum(line.amount for line in lines), last)
    for n, line in enumerate(lines, start=1):
        entry = sub(statement, "Ntry")
        sub(entry, "NtryRef", str(n))
        amount(entry, line.amount)
        sub(entry, "Sts", "BOOK")
        sub(sub(entry, "BookgDt"), "Dt", line.booking_date.isoformat())
        sub(sub(entry, "ValDt"), "Dt", line.booking_date.isoformat())
        sub(entry, "AcctSvcrRef", line.reference)
        domain = sub(sub(entry, "BkTxCd"), "Domn")  # ISO's bank transaction codes: received or issued transfer
        sub(domain, "Cd", "PMNT")
        family = sub(domain, "Fmly")
        sub(family, "Cd", "RCDT" if line.amount >= 0 else "ICDT")
        sub(family, "SubFmlyCd", "DMCT")
        details = sub(sub(sub(entry, "NtryDtls"), "TxDtls"), "RmtInf")
        sub(details, "Ustrd", line.text)
        sub(entry, "AddtlNtryInf", line.text)
    return ET.tostring(document, encoding="utf-8", xml_declaration=True)
