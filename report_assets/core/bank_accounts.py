"""Bank account numbers in the forms people and systems write them, reduced to one form for matching.

The Report API names a payout account by its BBAN under a scheme (``BBAN:NO`` + ``86011117947``); Norwegian banks'
statements usually carry the IBAN (``NO9386011117947``), printouts the BBAN with dots (``8601.11.17947``), Danish
ones registration number and account (``3000 4012345678``), Finnish ones the IBAN or the old short form
(``123456-785``). Each becomes the compact IBAN, so that the same account is the same key on both sides; the form
it was written in is kept for display. ``schwifty`` knows each country's IBAN layout and checksum.
"""

from __future__ import annotations

import re

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from report_assets.core.bank_days import COUNTRIES

BBAN_DIGITS = {"NO": 11, "DK": 14, "FI": 14}
COUNTRY_OF_CURRENCY = {"NOK": "NO", "DKK": "DK", "EUR": "FI"}  # where a payout account in that currency is kept
# A scheme (``BBAN:NO ``, ``IBAN:``) or a bare country (``NO:``, ``NO `` before digits) ahead of the number.
SCHEME = re.compile(r"^(?:(?:IBAN|BBAN)(?::(?P<country>[A-Z]{2})(?=[\s:]))?|(?P<bare>[A-Z]{2})(?::|\s+(?=\d)))[\s:]*")
FINNISH_SHORT = re.compile(r"^(\d{6})-(\d{2,8})$")  # 123456-785: bank and branch, a hyphen, the account


def finnish_bban(short: re.Match[str]) -> str:
    """The 14 digits of an old-form Finnish account: zeros go in after the sixth digit, or after the seventh for
    Savings and Co-operative banks (first digit 4 or 5), where the seventh digit belongs to the branch."""
    head, tail = short.group(1), short.group(2)
    if head[0] in "45":
        head, tail = head + tail[0], tail[1:]
    return head + tail.rjust(14 - len(head), "0")


def account_key(raw: str | None, country: str | None = None) -> str:
    """The compact IBAN of an account however it is written, or, when no form fits, the account with its spaces
    and punctuation removed (two equal odd forms still match). ``country`` is where the account is kept when the
    form does not say (a bare BBAN): from the scheme, the bank's BIC or the currency."""
    text = (raw or "").strip().upper()
    scheme = SCHEME.match(text)
    if scheme:
        country = scheme.group("country") or scheme.group("bare") or country
        text = text[scheme.end():]
    text = text.strip()
    short = FINNISH_SHORT.match(text)
    compact = finnish_bban(short) if short and country in (None, "FI") else re.sub(r"[\s.\-/]", "", text)
    if short and country is None:
        country = "FI"
    if re.fullmatch(r"[A-Z]{2}\d{2}[0-9A-Z]+", compact):
        if (iban := valid_iban(compact)) is not None:
            return iban
        if len(compact) - 2 != BBAN_DIGITS.get(compact[:2]):
            return compact
        country, compact = compact[:2], compact[2:]  # not an IBAN: a BBAN with its country glued on
    if not compact.isdigit():
        return compact
    if country is None and len(compact) == BBAN_DIGITS["NO"]:
        country = "NO"  # 14 digits are Danish or Finnish: only the scheme, the bank or the currency can say
    if country not in COUNTRIES:
        return compact
    if len(compact) == BBAN_DIGITS[country] + 2:  # NO 93 8601 1117 947: an IBAN with its country spaced off
        return valid_iban(country + compact) or compact
    if len(compact) == BBAN_DIGITS[country]:
        return str(IBAN.from_bban(country, compact))
    return compact


def valid_iban(text: str) -> str | None:
    try:
        return str(IBAN(text))
    except SchwiftyException:
        return None


def account_country(key: str, currency: str | None) -> str:
    """The country whose bank days count for an account: its IBAN's, else where its currency's accounts are kept
    (empty when neither says: weekdays only)."""
    return key[:2] if key[:2].isalpha() else COUNTRY_OF_CURRENCY.get(currency or "", "")
