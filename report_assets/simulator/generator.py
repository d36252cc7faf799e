"""Deterministic ledger data: the same seed, ledger and date give the same entries in any process.

Every random draw comes from a generator seeded by a hash of (seed, ledger, date, purpose), so a
date can be generated without generating the days before it. Opening balances are derived, not
accumulated: a business day outside a negative stretch always closes at the ledger's reserve (its
payout takes the rest), so a day's opening balance needs at most the few days back to the last such
day (a weekend, or a stretch of negative balance). A gross-settlement fees ledger looks back to the
start of the month, when the month's fees are invoiced.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from report_assets.simulator.world import LedgerSpec

DAY = timedelta(days=1)
SECOND_US = 1_000_000
WEEKDAY_VOLUME = (1.0, 1.0, 1.0, 1.05, 1.2, 0.6, 0.35)  # Monday .. Sunday
NAMES = ("Kari Nordmann", "Ola Nordmann", "Mette Hansen", "Søren Jensen", "Aino Virtanen", "Juha Mäkinen",
         "Ingrid Bø", "Lars Ærø", "Päivi Öhman", "Nils Åsen")
MESSAGES = ("Takk for kaffen!", "Lunsj", "Tak for sidst", "Kiitos!", "Billetter", "", "Gave 🎁", "Bursdag")
LATE_FEE_AFTER_US = (23 * 3600 + 20 * 60) * SECOND_US  # captures after 23:20 may have their fee tomorrow
CAPTURE_WINDOW_US = (23 * 3600 + 50 * 60) * SECOND_US  # captures happen before 23:50 local
END_OF_DAY_US = (23 * 3600 + 59 * 60 + 59) * SECOND_US  # retention and payout are stamped here


class Entry(NamedTuple):
    """One entry before balances: balances are filled in when the day is assembled."""

    time_us: int  # UTC microseconds since the epoch
    entry_type: str
    psp_reference: str
    reference: str | None  # None: the field is absent
    amount: int
    recipient_handle: str | None
    gdpr: int | None  # index into the GDPR pools, or None when the payment carries no personal data


class Capture(NamedTuple):
    time_us: int
    psp_reference: str
    reference: str
    amount: int
    recipient_handle: str | None
    gdpr: int | None
    fee: int
    late_fee: bool  # the fee lands on the next ledger date


@dataclass(frozen=True)
class Dispute:
    retained_on: date
    capture_day: date
    capture_index_draw: float
    returned_on: date | None
    retained_again_on: date | None


@dataclass(frozen=True)
class MonthPlan:
    service_fee_day: date | None
    fees_credit_note_day: date
    fees_correction_day: date
    funds_credit_note_day: date
    funds_correction_day: date
    abort_day: date
    disputes: tuple[Dispute, ...]
    stretch: tuple[date, date] | None  # [start, end): negative balance, no payout; top-up on end


def rng_for(*parts: object) -> random.Random:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5


@lru_cache(maxsize=4096)
def day_start_us(timezone: str, day: date, cutoff_hour: int) -> int:
    start = datetime.combine(day, time(cutoff_hour), ZoneInfo(timezone))
    return int(start.timestamp()) * SECOND_US


class LedgerGenerator:
    """All days of one ledger under one seed; memoizes the pieces other days refer back to."""

    def __init__(self, seed: int, spec: LedgerSpec) -> None:
        self.seed = seed
        self.spec = spec
        self.reserve = spec.reserve
        self.captures = lru_cache(maxsize=128)(self._captures)
        self.month_plan = lru_cache(maxsize=64)(self._month_plan)
        self.funds_close = lru_cache(maxsize=4096)(self._funds_close)
        self.fees_close = lru_cache(maxsize=4096)(self._fees_close)
        self.fee_day_entries = lru_cache(maxsize=128)(self._fee_day_entries)
        self.base_funds_entries = lru_cache(maxsize=128)(self._base_funds_entries)

    # -- volumes ---------------------------------------------------------------------------------

    def capture_count(self, day: date) -> int:
        if day < self.spec.history_start or self.spec.captures_per_weekday <= 0:
            return 0
        noise = 0.85 + 0.3 * rng_for(self.seed, self.spec.ledger_id, day, "n").random()
        return round(self.spec.captures_per_weekday * WEEKDAY_VOLUME[day.weekday()] * noise)

    def _captures(self, day: date) -> tuple[Capture, ...]:
        n = self.capture_count(day)
        if n == 0:
            return ()
        spec = self.spec
        rng = rng_for(self.seed, spec.ledger_id, day, "captures")
        start = day_start_us(spec.timezone, day, spec.cutoff_hour)
        next_has_captures = self.capture_count(day + DAY) > 0
        handles = spec.recipient_handles
        gdpr_handles = spec.gdpr_handles
        old_data = day.year < 2022
        offsets = sorted(
            int((7 + 16 * rng.random()) * 3600 * SECOND_US) if rng.random() < 0.85
            else int(rng.random() * CAPTURE_WINDOW_US)
            for _ in range(n)
        )
        stamp = f"{day:%y%m%d}"
        bp, fixed = spec.fee_basis_points, spec.fee_fixed
        random_ = rng.random
        result = []
        for i, offset in enumerate(offsets):
            offset = min(offset + int(random_() * SECOND_US), CAPTURE_WINDOW_US)
            amount = min(5_000_000, max(100, int(math.exp(10.2 + 0.9 * rng.gauss()))))
            handle: str | None = handles[0] if len(handles) == 1 or random_() < 0.7 else handles[1]
            gdpr = int(random_() * 1000) if handle in gdpr_handles else None
            if old_data and random_() < 0.1:
                handle = None
            late = offset > LATE_FEE_AFTER_US and next_has_captures and random_() < 0.6
            result.append(
                Capture(start + offset, f"{stamp}{i:06d}", f"{spec.shop}-{stamp}{i:06d}", amount, handle, gdpr,
                        max(1, (amount * bp + 5000) // 10000) + fixed, late)
            )
        return tuple(result)

    def capture_total(self, day: date) -> int:
        return sum(c.amount for c in self.captures(day))

    # -- monthly events --------------------------------------------------------------------------

    def _month_plan(self, year: int, month: int) -> MonthPlan:
        rng = rng_for(self.seed, self.spec.ledger_id, year, month, "plan")
        last = calendar.monthrange(year, month)[1]
        days = [date(year, month, d) for d in range(1, last + 1)]
        # An aborted payout needs a payout on the business day before it.
        business = [d for d in days if d.weekday() in (1, 2, 3, 4) and d.day >= 3]

        def any_day() -> date:
            return rng.choice(days)

        disputes = []
        for _ in range(2):
            retained = rng.choice(days)
            returned = retained + timedelta(days=rng.randint(2, 10)) if rng.random() < 0.7 else None
            again = returned + timedelta(days=rng.randint(2, 10)) if returned and rng.random() < 0.3 else None
            disputes.append(Dispute(retained, retained - timedelta(days=rng.randint(3, 20)), rng.random(),
                                    returned, again))
        stretch = None
        if self.spec.negative_stretches:
            start = date(year, month, rng.randint(4, 18))
            stretch = (start, start + timedelta(days=rng.randint(2, 5)))
            business = [d for d in business if not start <= d <= stretch[1] + timedelta(days=1)]
        service_day = next((d for d in days if self.capture_count(d) >= 5), None)
        return MonthPlan(service_day, any_day(), any_day(), any_day(), any_day(), rng.choice(business),
                         tuple(disputes), stretch)

    def plans_around(self, day: date) -> tuple[MonthPlan, MonthPlan]:
        previous = day.replace(day=1) - DAY
        return self.month_plan(previous.year, previous.month), self.month_plan(day.year, day.month)

    def stretch_of(self, day: date) -> tuple[date, date] | None:
        stretch = self.month_plan(day.year, day.month).stretch
        return stretch if stretch and stretch[0] <= day < stretch[1] else None

    def is_anchor(self, day: date) -> bool:
        """A day that always closes at the reserve: a business day outside a negative stretch."""
        return day >= self.spec.history_start and is_business_day(day) and self.stretch_of(day) is None

    def dispute_capture(self, dispute: Dispute) -> Capture | None:
        captures = self.captures(dispute.capture_day)
        if not captures:
            return None
        capture = captures[int(dispute.capture_index_draw * len(captures))]
        # Keep a normal day's net positive: a dispute larger than a fifth of the day's captures is skipped.
        if capture.amount * 5 > self.capture_total(dispute.retained_on):
            return None
        return capture

    # -- the fees ledger -------------------------------------------------------------------------

    def _fee_day_entries(self, day: date) -> tuple[Entry, ...]:
        """The fee entries of a day, before retention or invoicing; their sum is never positive."""
        spec = self.spec
        lid = spec.ledger_id
        entries = [
            Entry(c.time_us + 1_500_000, "capture-fee", c.psp_reference, c.reference, -c.fee, c.recipient_handle, None)
            for c in self.captures(day) if not c.late_fee
        ]
        start = day_start_us(spec.timezone, day, spec.cutoff_hour)
        entries += [
            Entry(start + 30 * SECOND_US + i * 1000, "capture-fee", c.psp_reference, c.reference, -c.fee,
                  c.recipient_handle, None)
            for i, c in enumerate(c for c in self.captures(day - DAY) if c.late_fee)
        ]
        fee_sum = -sum(e.amount for e in entries)
        plan = self.month_plan(day.year, day.month)
        rng = rng_for(self.seed, lid, day, "fee-events")
        if plan.service_fee_day == day:
            amount = {"NOK": 29_900, "DKK": 19_900, "EUR": 2_900}.get(spec.currency, 2_900)
            entries.append(Entry(start + 2 * 3600 * SECOND_US, "service-fee", f"{lid}-SF-{day:%Y%m}",
                                 f"service-fee-{day:%Y-%m}", -amount, None, None))
            fee_sum += amount
        if plan.fees_credit_note_day == day and fee_sum > 10:
            entries.append(Entry(start + 10 * 3600 * SECOND_US, "credit-note", f"{lid}-CN-{day:%Y%m%d}",
                                 f"credit-note-{day:%Y%m%d}", int(fee_sum * 0.3 * rng.random()) + 1, None, None))
        if plan.fees_correction_day == day and fee_sum > 10:
            amount = int(fee_sum * 0.1 * rng.random()) + 1
            entries.append(Entry(start + 11 * 3600 * SECOND_US, "correction", f"{lid}-FC-{day:%Y%m%d}",
                                 f"fee-correction-{day:%Y%m%d}", amount if rng.random() < 0.5 else -amount,
                                 None, None))
        entries.sort(key=lambda e: e.time_us)
        return tuple(entries)

    def fee_day_sum(self, day: date) -> int:
        return sum(e.amount for e in self.fee_day_entries(day))

    def fees_invoiced(self, day: date) -> int:
        """Gross settlement: on the first of the month, last month's fees are invoiced, zeroing the balance."""
        if self.spec.settlement != "gross" or day.day != 1:
            return 0
        return -self.fees_close(day - DAY)

    def _fees_close(self, day: date) -> int:
        if day < self.spec.history_start or self.spec.settlement == "net":
            return 0  # net settlement retains the day's fees at its end
        opening = 0 if day.day == 1 else self.fees_close(day - DAY)  # the 1st opens with the invoice
        return opening + self.fee_day_sum(day)

    def fees_day(self, day: date) -> tuple[int, list[Entry]]:
        """(opening balance, entries) of the fees ledger on ``day``."""
        spec = self.spec
        entries = list(self.fee_day_entries(day))
        opening = self.fees_close(day - DAY)
        start = day_start_us(spec.timezone, day, spec.cutoff_hour)
        if (invoiced := self.fees_invoiced(day)) != 0:
            entries.insert(0, Entry(start + 10 * SECOND_US, "fees-invoiced", f"{spec.ledger_id}-FI-{day:%Y%m}",
                                    f"invoice-{day:%Y-%m}", invoiced, None, None))
        if spec.settlement == "net" and (retained := -self.fee_day_sum(day)) != 0:
            entries.append(Entry(start + END_OF_DAY_US, "fees-retained", self.retention_psp(day), "", retained,
                                 None, None))
        return opening, entries

    def retention_psp(self, day: date) -> str:
        return f"{self.spec.ledger_id}-FR-{day:%Y%m%d}"

    # -- the funds ledger ------------------------------------------------------------------------

    def _base_funds_entries(self, day: date) -> tuple[Entry, ...]:
        """Payments and events of a day, without balance-dependent entries (top-up, payout, ...)."""
        spec = self.spec
        lid = spec.ledger_id
        captures = self.captures(day)
        entries = [Entry(c.time_us, "capture", c.psp_reference, c.reference, c.amount, c.recipient_handle, c.gdpr)
                   for c in captures]
        rng = rng_for(self.seed, lid, day, "funds-events")
        start = day_start_us(spec.timezone, day, spec.cutoff_hour)
        budget = sum(c.amount for c in captures) * 3 // 10  # refunds never exceed 30% of the day's captures
        for j in range(round(len(captures) * 0.02)):
            back = 0 if rng.random() < 0.6 else rng.randint(1, 3)
            source = captures if back == 0 else self.captures(day - timedelta(days=back))
            if not source:
                continue
            capture = source[int(rng.random() * len(source))]
            amount = capture.amount if rng.random() < 0.7 else max(1, int(capture.amount * rng.random()))
            if amount > budget:
                continue
            budget -= amount
            earliest = max(capture.time_us, start) if back == 0 else start
            when = earliest + int(rng.random() * max(1, start + CAPTURE_WINDOW_US - earliest))
            entries.append(Entry(when, "refund", f"{day:%y%m%d}9{j:05d}", capture.reference, -amount,
                                 capture.recipient_handle, capture.gdpr))
        for plan in self.plans_around(day):
            for dispute in plan.disputes:
                capture = self.dispute_capture(dispute)
                if capture is None:
                    continue
                kind = {dispute.retained_on: "retained-disputed-capture", dispute.retained_again_on:
                        "retained-disputed-capture", dispute.returned_on: "returned-disputed-capture"}.get(day)
                if kind is not None:
                    sign = -1 if kind.startswith("retained") else 1
                    entries.append(Entry(start + int((8 + 8 * rng.random()) * 3600 * SECOND_US), kind,
                                         capture.psp_reference, capture.reference, sign * capture.amount,
                                         capture.recipient_handle, capture.gdpr))
        plan = self.month_plan(day.year, day.month)
        day_total = sum(c.amount for c in captures)
        if plan.funds_correction_day == day and day_total > 100:
            amount = int(day_total * 0.05 * rng.random()) + 1
            entries.append(Entry(start + 12 * 3600 * SECOND_US, "correction", f"{lid}-C-{day:%Y%m%d}",
                                 f"correction-{day:%Y%m%d}", amount if rng.random() < 0.5 else -amount, None, None))
        if plan.funds_credit_note_day == day:
            entries.append(Entry(start + 13 * 3600 * SECOND_US, "credit-note", f"{lid}-CN-{day:%Y%m%d}",
                                 f"credit-note-{day:%Y%m%d}", 1000 + int(9000 * rng.random()), None, None))
        if spec.unknown_entry_rate and rng.random() < spec.unknown_entry_rate:
            entries.append(Entry(start + 14 * 3600 * SECOND_US, "interest-credit", f"{lid}-IC-{day:%Y%m%d}",
                                 f"interest-{day:%Y%m%d}", 1 + int(500 * rng.random()), None, None))
        entries.sort(key=lambda e: e.time_us)
        return tuple(entries)

    def retained_fees(self, day: date) -> int:
        """The (negative) fees-retained amount on funds: the mirror of the fees ledger's retention."""
        return self.fee_day_sum(day) if self.spec.settlement == "net" else 0

    def funds_open(self, day: date) -> int:
        return self.funds_close(day - DAY)

    def _funds_close(self, day: date) -> int:
        if day < self.spec.history_start:
            return self.reserve
        if self.is_anchor(day):
            return self.reserve
        return self.funds_open(day) + sum(e.amount for e in self.funds_specials(day)) + \
            sum(e.amount for e in self.base_funds_entries(day)) + self.retained_fees(day)

    def stretch_correction(self, day: date) -> int:
        """At the start of a stretch: enough negative to keep the balance below zero until it ends."""
        stretch = self.stretch_of(day)
        if stretch is None or stretch[0] != day:
            return 0
        inflow = 0
        current = stretch[0]
        while current < stretch[1]:
            inflow += sum(e.amount for e in self.base_funds_entries(current) if e.amount > 0)
            current += DAY
        margin = 100_000 + int(900_000 * rng_for(self.seed, self.spec.ledger_id, day, "stretch").random())
        return -(self.funds_open(day) - self.reserve + inflow + margin)

    def top_up(self, day: date) -> int:
        stretch = self.stretch_of(day - DAY)
        if stretch is None or stretch[1] != day:
            return 0
        return self.reserve - self.funds_open(day)

    def aborted_payout(self, day: date) -> int:
        if self.month_plan(day.year, day.month).abort_day != day or not self.is_anchor(day):
            return 0
        previous = day - timedelta(days=3 if day.weekday() == 0 else 1)
        if not self.is_anchor(previous) or self.top_up(day):
            return 0
        return self.payout_amount(previous)

    def funds_specials(self, day: date) -> list[Entry]:
        """The balance-dependent entries that open a day: top-up, stretch correction, aborted payout."""
        spec = self.spec
        lid = spec.ledger_id
        start = day_start_us(spec.timezone, day, spec.cutoff_hour)
        specials = []
        if amount := self.top_up(day):
            specials.append(Entry(start + 5 * SECOND_US, "top-up", f"{lid}-TU-{day:%Y%m%d}",
                                  f"top-up-{day:%Y%m%d}", amount, None, None))
        if amount := self.stretch_correction(day):
            specials.append(Entry(start + 60 * SECOND_US, "correction", f"{lid}-SC-{day:%Y%m%d}",
                                  f"chargeback-batch-{day:%Y%m%d}", amount, None, None))
        if amount := self.aborted_payout(day):
            previous = day - timedelta(days=3 if day.weekday() == 0 else 1)
            specials.append(Entry(start + 6 * 3600 * SECOND_US, "payout-aborted", self.payout_psp(previous),
                                  self.payout_text(previous), amount, None, None))
        return specials

    def pre_payout_balance(self, day: date) -> int:
        return (self.funds_open(day) + sum(e.amount for e in self.funds_specials(day))
                + sum(e.amount for e in self.base_funds_entries(day)) + self.retained_fees(day))

    def payout_amount(self, day: date) -> int:
        return max(0, self.pre_payout_balance(day) - self.reserve) if self.is_anchor(day) else 0

    def payout_number(self, day: date) -> int:
        return 2_000_000 + (day - date(2020, 1, 1)).days

    def payout_psp(self, day: date) -> str:
        return f"{self.spec.ledger_id}-{self.payout_number(day)}"

    def payout_text(self, day: date) -> str | None:
        if self.spec.currency == "NOK":
            return None  # Norway's bank text is missing in the report today
        return f"VippsMobilePay {self.payout_number(day)}"

    def funds_day(self, day: date) -> tuple[int, list[Entry]]:
        """(opening balance, entries) of the funds ledger on ``day``."""
        spec = self.spec
        start = day_start_us(spec.timezone, day, spec.cutoff_hour)
        entries = sorted(self.funds_specials(day) + list(self.base_funds_entries(day)), key=lambda e: e.time_us)
        if retained := self.retained_fees(day):
            entries.append(Entry(start + END_OF_DAY_US + 100, "fees-retained", self.retention_psp(day), "",
                                 retained, None, None))
        if self.is_anchor(day):
            pre = self.pre_payout_balance(day)
            if pre < self.reserve:  # only on days of almost no traffic: keep the day's close at the reserve
                entries.append(Entry(start + END_OF_DAY_US + 500_000, "correction", f"{spec.ledger_id}-RC-{day:%Y%m%d}",
                                     f"reserve-correction-{day:%Y%m%d}", self.reserve - pre, None, None))
            elif pre > self.reserve:
                entries.append(Entry(start + END_OF_DAY_US + 900_000, "payout-scheduled", self.payout_psp(day),
                                     self.payout_text(day), self.reserve - pre, None, None))
        return self.funds_open(day), entries

    def day(self, topic: str, day: date) -> tuple[int, list[Entry]]:
        if day < self.spec.history_start:
            return (self.reserve if topic == "funds" else 0), []
        return self.funds_day(day) if topic == "funds" else self.fees_day(day)


def iter_dates(first: date, last: date) -> Iterator[date]:
    current = first
    while current <= last:
        yield current
        current += DAY
