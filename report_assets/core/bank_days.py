"""Bank days in Norway, Denmark and Finland: when a payout can land, and how late one is.

A payout lands T+2 *bank* days after its ledger date, and a bank books nothing on a bank holiday: across
Christmas or Easter, counting weekdays would call a payout on time late, or the other way round. The public
holidays come from the ``holidays`` library (Easter, Ascension and Whitsun move every year); on top of them, the
days banks close that are not public holidays, as each country's banks publish them:
- Norway: Christmas Eve and New Year's Eve (Norges Bank's settlement is closed);
- Denmark: Constitution Day (5 June), Christmas Eve, New Year's Eve (the library's "optional" days but May Day,
  on which Danish banks are open) and the Friday after Ascension Day;
- Finland: the library's public holidays already hold Christmas Eve and Midsummer Eve.
Another country's account counts weekdays only, and says so nowhere: the books cover these three.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from functools import lru_cache

import holidays

COUNTRIES = ("NO", "DK", "FI")
DAY = timedelta(days=1)


@lru_cache(maxsize=64)
def bank_holidays(country: str, year: int) -> frozenset[date]:
    """The days of ``year`` other than weekends on which the country's banks book nothing."""
    if country not in COUNTRIES:
        return frozenset()
    public = holidays.country_holidays(country, years=year)
    closed = set(public)
    if country == "NO":
        closed |= {date(year, 12, 24), date(year, 12, 31)}
    if country == "DK":
        closed |= set(holidays.country_holidays("DK", years=year, categories="optional")) - {date(year, 5, 1)}
        closed.add(next(day for day, name in public.items() if name == "Ascension Day") + DAY)
    return frozenset(closed)


def is_bank_day(country: str, day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(country, day.year)


def add_bank_days(country: str, day: date, days: int) -> date:
    """The bank day ``days`` bank days after ``day`` (T+2 is ``add_bank_days(country, day, 2)``)."""
    while days:
        day += DAY
        if is_bank_day(country, day):
            days -= 1
    return day


def bank_days_between(country: str, first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        if is_bank_day(country, day):
            yield day
        day += DAY


def bank_day_numbers(countries: Iterable[str], first: date, last: date) -> list[tuple[str, date, int]]:
    """Each country's days from ``first`` to ``last`` with the number of bank days up to and including each: the
    difference of two numbers is the bank days between them, whatever holidays lie in between."""
    rows = []
    for country in sorted(set(countries)):
        count = 0
        day = first
        while day <= last:
            count += is_bank_day(country, day)
            rows.append((country, day, count))
            day += DAY
    return rows
