"""Money as people read it: the ledgers hold minor units (øre, cent), people read major units with the currency.

The one place that knows a currency's exponent (ISO 4217: two decimals unless listed here), for the SQL of the
lake views, the exports, the checks' messages, the UI's metadata and the simulator's bank.
"""

from __future__ import annotations

from decimal import Decimal

MINOR_UNIT_DIGITS = {"JPY": 0, "ISK": 0, "KRW": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3}


def digits(currency: str | None) -> int:
    return MINOR_UNIT_DIGITS.get(currency or "", 2)


def major_decimal(amount: int, currency: str | None) -> Decimal:
    """Exact: 12345 NOK -> Decimal('123.45')."""
    return Decimal(amount).scaleb(-digits(currency))


def major_units(amount: int, currency: str | None) -> float:
    return amount / 10 ** digits(currency)


def major_text(amount: int | None, currency: str | None, decimal_mark: str = ".") -> str:
    """Without grouping, for files: '-1234.50' (or '-1234,50' with a decimal comma); '' for no amount."""
    if amount is None:
        return ""
    return f"{major_decimal(amount, currency):.{digits(currency)}f}".replace(".", decimal_mark)


def money_text(amount: int | None, currency: str | None) -> str:
    """For people: '1,234.50 NOK'."""
    if amount is None:
        return f"none {currency or ''}".strip()
    return f"{major_decimal(amount, currency):,.{digits(currency)}f} {currency or ''}".rstrip()


def major_units_sql(column: str, currency_column: str = "currency") -> str:
    """The same in DuckDB SQL, as an exact DECIMAL(18, 2): the Report API's currencies (NOK, DKK, EUR) have two
    decimals; one without (JPY, ISK) is still exact at two, so only a three-decimal currency would be rounded."""
    no_decimals = ", ".join(f"'{code}'" for code, n in sorted(MINOR_UNIT_DIGITS.items()) if n == 0)
    three = ", ".join(f"'{code}'" for code, n in sorted(MINOR_UNIT_DIGITS.items()) if n == 3)
    return (f"CAST(CASE WHEN {currency_column} IN ({no_decimals}) THEN {column} "
            f"WHEN {currency_column} IN ({three}) THEN {column} / 1000 ELSE {column} / 100 END AS DECIMAL(18, 2))")


def money_macro_sql() -> str:
    """``money(amount, currency)`` for DuckDB, as ``money_text`` writes it: what check messages say in SQL."""
    return (f"CREATE OR REPLACE TEMP MACRO money(amount, currency) AS CASE WHEN amount IS NULL THEN 'none' "
            f"ELSE format('{{:,}}', {major_units_sql('amount')}) || ' ' || coalesce(currency, '') END")
