"""The one definition of a Report API ledger entry.

Validation here, and the Parquet schema, DuckDB DDL and Dagster column metadata of the ingestion
assets, are all derived from ``ENTRY_FIELDS`` so that a field is described in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import pyarrow as pa

FieldKind = Literal["string", "integer", "date", "timestamp"]


@dataclass(frozen=True)
class EntryField:
    api_name: str
    column: str
    kind: FieldKind
    description: str
    nullable: bool = True
    gdpr: bool = False


ENTRY_FIELDS: tuple[EntryField, ...] = (
    EntryField("pspReference", "psp_reference", "string",
               "Reference of one money movement; not unique on the fees ledger (one capture can carry several fees)."),
    EntryField("time", "time", "timestamp", "When the entry was booked, as a UTC instant.", nullable=False),
    EntryField("ledgerDate", "ledger_date", "date",
               "The accounting day the entry belongs to, in the ledger's own time zone.", nullable=False),
    EntryField("entryType", "entry_type", "string",
               "What kind of movement this is (capture, refund, fees-retained, payout-scheduled, ...).",
               nullable=False),
    EntryField("reference", "reference", "string",
               "The merchant's order reference grouping all entries of one payment; the bank text on payouts."),
    EntryField("currency", "currency", "string", "ISO 4217 currency of the ledger.", nullable=False),
    EntryField("amount", "amount", "integer",
               "Signed effect on this ledger's balance, in minor units (øre, cent).", nullable=False),
    EntryField("balanceBefore", "balance_before", "integer", "Ledger balance before this entry, in minor units.",
               nullable=False),
    EntryField("balanceAfter", "balance_after", "integer", "Ledger balance after this entry, in minor units.",
               nullable=False),
    EntryField("recipientHandle", "recipient_handle", "string",
               "The sales unit paid (api: and the merchant serial number, or NO:/DK:/FI: and a number); empty on "
               "payouts and fee retention."),
    EntryField("name", "name", "string", "Payer's name (personal data, only when GDPR data is requested).",
               gdpr=True),
    EntryField("maskedPhoneNo", "masked_phone_no", "string",
               "Payer's masked phone number (personal data, only when GDPR data is requested).", gdpr=True),
    EntryField("message", "message", "string",
               "Payer's message (personal data, only when GDPR data is requested).", gdpr=True),
)

MONEY_FIELDS: tuple[str, ...] = tuple(f.api_name for f in ENTRY_FIELDS if f.kind == "integer")


@cache
def page_schema() -> pa.Schema:
    """The entry fields as a page sends them, in Arrow: amounts as integers, everything else as the text it is
    (times and dates are parsed when stored). GDPR fields are included; a page without them has them null."""
    return pa.schema([pa.field(f.api_name, pa.int64() if f.kind == "integer" else pa.string())
                      for f in ENTRY_FIELDS])


@cache
def page_struct() -> pa.StructType:
    """``page_schema`` as one entry's type."""
    return pa.struct(list(page_schema()))


def page_batch(items: list[dict[str, Any]]) -> pa.RecordBatch:
    """API entries (dicts) in Arrow (``page_schema``), converted in Arrow's C++ as one struct array: about a
    sixth faster than column by column (``RecordBatch.from_pylist`` gathers each column in Python). Fields the
    schema does not name are ignored; a value of the wrong type raises Arrow's error."""
    return pa.RecordBatch.from_struct_array(pa.array(items, type=page_struct()))


Topic = Literal["funds", "fees"]
TOPICS: tuple[Topic, ...] = ("funds", "fees")

# Known entry types per topic with the sign of their amount: +1, -1, or 0 for either sign.
FUNDS_ENTRY_TYPES: dict[str, int] = {
    "capture": +1,
    "refund": -1,
    "fees-retained": -1,
    "payout-scheduled": -1,
    "scheduled-for-payout": -1,  # the 2023 spec's name for payout-scheduled
    "payout": -1,  # the v1 name for payout-scheduled
    "payout-aborted": +1,
    "retained-disputed-capture": -1,
    "returned-disputed-capture": +1,
    "correction": 0,
    "top-up": +1,
    "credit-note": 0,
}
FEES_ENTRY_TYPES: dict[str, int] = {
    "capture-fee": -1,
    "fees-retained": +1,
    "fees-invoiced": +1,
    "credit-note": 0,
    "service-fee": -1,
    "correction": 0,
}
ENTRY_TYPES_BY_TOPIC: dict[str, dict[str, int]] = {"funds": FUNDS_ENTRY_TYPES, "fees": FEES_ENTRY_TYPES}
PAYOUT_ENTRY_TYPES: frozenset[str] = frozenset({"payout-scheduled", "scheduled-for-payout", "payout"})
