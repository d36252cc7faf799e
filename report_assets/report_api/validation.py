"""The Report API's contract for a page, checked before anything is handed on.

A page that breaks it raises ``PageValidationError`` naming ledger, topic, date and page. Unknown
fields are ignored and unknown entry types pass through (counted): the API may add both at any time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from report_assets.report_api.entry_schema import ENTRY_TYPES_BY_TOPIC, MONEY_FIELDS, page_batch
from report_assets.report_api.errors import PageValidationError, ReadContext

WHOLE_PAGE_MIN = 100  # below this many entries, Arrow's fixed cost per page outweighs what it saves per entry
WHAT_TO_DO = (
    "Nothing from this ledger-day was handed on; data already stored is unchanged. "
    "Re-run to fetch it again; if it persists, report the page to Vipps MobilePay."
)


@dataclass
class ValidPage:
    items: list[dict[str, Any]]
    arrow: pa.RecordBatch | None  # the items in Arrow (``page_schema``), when the whole-page check made them
    has_more: bool
    try_later: bool
    cursor: str | None


@dataclass
class EntryStreamValidator:
    """Checks entries one page at a time, carrying the balance chain and currency across pages."""

    context: ReadContext
    ledger_date: str | None = None  # every entry must belong to this date (dates endpoint)
    currency: str | None = None
    last_balance: int | None = None
    unknown_entry_types: Counter[str] = field(default_factory=Counter)
    entry_count: int = 0

    def fail(self, page: int, problem: str) -> PageValidationError:
        where = ReadContext(self.context.ledger_id, self.context.topic, self.context.ledger_date, page)
        return PageValidationError(f"Invalid Report API page ({where.describe()}): {problem}. {WHAT_TO_DO}")

    def check_items(self, body: Any, page: int) -> tuple[list[dict[str, Any]], pa.RecordBatch | None]:
        """The page's entries, and the same entries in Arrow when the whole-page check made them."""
        if not isinstance(body, dict):
            raise self.fail(page, f"the body is a JSON {type(body).__name__}, not an object")
        items = body.get("items")
        if not isinstance(items, list):
            problem = "'items' is missing" if items is None else f"'items' is a {type(items).__name__}, not a list"
            raise self.fail(page, problem)
        known = ENTRY_TYPES_BY_TOPIC.get(self.context.topic or "", {})
        arrow = self._clean_page(items, known) if len(items) >= WHOLE_PAGE_MIN else None
        if arrow is None:  # entry by entry: cheaper for a short page, and it names the first problem
            for index, item in enumerate(items, start=1):
                self._check_entry(item, page, index, known)
        return items, arrow

    def _clean_page(self, items: list[Any], known: dict[str, int]) -> pa.RecordBatch | None:
        """The same rules as ``_check_entry`` for a whole page at once, in Arrow: about a tenth of the cost
        per entry. A batch (the page converted, which storing it reuses) means every entry passed and the
        stream's state has moved on; None means some rule may be broken (or an entry is odd in a way only
        the entry-by-entry check can name), nothing changed."""
        try:
            # Arrow would take 1.0 or a float for an integer field: amounts must be JSON integers
            if any(set(map(type, [item.get(name) for item in items])) != {int} for name in MONEY_FIELDS):
                return None
            batch = page_batch(items)
            amount, before, after = (batch.column(name) for name in ("amount", "balanceBefore", "balanceAfter"))
            dates = batch.column("ledgerDate")
            currencies = pc.unique(batch.column("currency")).to_pylist()
            entry_types = pc.unique(batch.column("entryType")).to_pylist()
            clean = (
                pc.all(pc.equal(after, pc.add_checked(before, amount))).as_py()
                and (self.last_balance is None or before[0].as_py() == self.last_balance)
                and pc.all(pc.equal(before[1:], after[:-1])).as_py() is not False
                and len(currencies) == 1 and currencies[0] and currencies[0] == (self.currency or currencies[0])
                and None not in entry_types and "" not in entry_types
                and dates.null_count == 0
                and (pc.all(pc.equal(dates, self.ledger_date)).as_py() if self.ledger_date is not None
                     else pc.all(pc.equal(pc.utf8_length(dates), 10)).as_py())
                and pc.cast(batch.column("time"), pa.timestamp("us", "UTC")).null_count == 0
            )
        except (AttributeError, TypeError, ValueError, OverflowError, pa.ArrowException):
            return None
        if not clean:
            return None
        self.last_balance = after[-1].as_py()
        self.currency = currencies[0]
        for entry_type, count in zip(*pc.value_counts(batch.column("entryType")).flatten(), strict=True):
            if entry_type.as_py() not in known:
                self.unknown_entry_types[entry_type.as_py()] += count.as_py()
        self.entry_count += len(items)
        return batch

    def _check_entry(self, item: Any, page: int, index: int, known: dict[str, int]) -> None:
        if not isinstance(item, dict):
            raise self.fail(page, f"entry {index} is a {type(item).__name__}, not an object")
        for name in MONEY_FIELDS:
            value = item.get(name)
            if type(value) is not int:
                raise self.fail(page, f"entry {index}: {name} is {value!r}, not an integer amount in minor units")
        amount, before, after = item["amount"], item["balanceBefore"], item["balanceAfter"]
        psp = item.get("pspReference")
        if after != before + amount:
            raise self.fail(
                page,
                f"entry {index} (pspReference {psp}): balanceAfter {after} != balanceBefore {before} + amount {amount}",
            )
        if self.last_balance is not None and before != self.last_balance:
            raise self.fail(
                page,
                f"entry {index} (pspReference {psp}): balance chain broken, balanceBefore {before} "
                f"does not follow the previous entry's balanceAfter {self.last_balance}",
            )
        self.last_balance = after
        currency = item.get("currency")
        if not isinstance(currency, str) or not currency:
            raise self.fail(page, f"entry {index} (pspReference {psp}): currency is {currency!r}")
        if self.currency is None:
            self.currency = currency
        elif currency != self.currency:
            raise self.fail(
                page, f"entry {index} (pspReference {psp}): currency changes from {self.currency} to {currency}"
            )
        entry_type = item.get("entryType")
        if not isinstance(entry_type, str) or not entry_type:
            raise self.fail(page, f"entry {index} (pspReference {psp}): entryType is {entry_type!r}")
        if entry_type not in known:
            self.unknown_entry_types[entry_type] += 1
        date = item.get("ledgerDate")
        if self.ledger_date is not None and date != self.ledger_date:
            raise self.fail(
                page, f"entry {index} (pspReference {psp}): ledgerDate {date!r} on a {self.ledger_date} page"
            )
        if not isinstance(date, str) or len(date) != 10:
            raise self.fail(page, f"entry {index} (pspReference {psp}): ledgerDate is {date!r}")
        time = item.get("time")
        try:
            if datetime.fromisoformat(time).tzinfo is None:  # type: ignore[arg-type]
                raise ValueError
        except (TypeError, ValueError):
            raise self.fail(
                page, f"entry {index} (pspReference {psp}): time {time!r} is not an RFC 3339 instant"
            ) from None
        self.entry_count += 1


def check_flag(validator: EntryStreamValidator, body: dict[str, Any], name: str, page: int) -> bool:
    value = body.get(name)
    if type(value) is not bool:
        raise validator.fail(page, f"'{name}' is {value!r}, not a JSON boolean")
    return value


def check_dates_page(validator: EntryStreamValidator, body: Any, page: int) -> ValidPage:
    items, arrow = validator.check_items(body, page)
    has_more = check_flag(validator, body, "hasMore", page)
    try_later = check_flag(validator, body, "tryLater", page)
    cursor = body.get("cursor")
    if has_more and (not isinstance(cursor, str) or not cursor):
        raise validator.fail(page, f"'hasMore' is true but the cursor is {cursor!r}")
    return ValidPage(items, arrow, has_more=has_more, try_later=try_later, cursor=cursor if has_more else None)


def check_feed_page(validator: EntryStreamValidator, body: Any, page: int) -> ValidPage:
    items, arrow = validator.check_items(body, page)
    try_later = check_flag(validator, body, "tryLater", page)
    cursor = body.get("cursor")
    if not isinstance(cursor, str) or not cursor:
        raise validator.fail(page, f"the feed cursor is {cursor!r}; it must always be a non-empty string")
    return ValidPage(items, arrow, has_more=False, try_later=try_later, cursor=cursor)
