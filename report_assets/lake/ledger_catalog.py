"""The ledger catalog: each ledger's currency and time zone, its owner, and whether the keys still reach it.

The ledger list gives a currency but no time zone, yet a ledger date runs midnight to midnight in the
merchant's time zone. So the zone is configured, or inferred from the owner's country (then the payout
account's, then the sales units' handles', then the currency's), and recorded with where it came from,
so that a guess can be seen as one and overridden. Rows are never deleted: a ledger whose access was
withdrawn keeps its row, marked unlisted, as its data is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from report_assets.core.setting_names import ENV_LEDGER_IDS
from report_assets.lake.parquet_lake import ParquetLake
from report_assets.lake.schema import Column
from report_assets.report_api.client import Ledger

COUNTRY_TIMEZONES = {"NO": "Europe/Oslo", "DK": "Europe/Copenhagen", "FI": "Europe/Helsinki"}
CURRENCY_COUNTRIES = {"NOK": "NO", "DKK": "DK", "EUR": "FI"}

CATALOG_COLUMNS = (
    Column("ledger_id", "string", "The ledger (settlement account).", nullable=False),
    Column("currency", "string", "ISO 4217 currency of the ledger, as the ledger list gives it."),
    Column("timezone", "string", "Time zone in which the ledger's dates run midnight to midnight.", nullable=False),
    Column("timezone_source", "string",
           "Where the time zone comes from: configured (REPORT_ASSETS_LEDGER_TIMEZONES), owner, payout_account, "
           "recipient_handle or currency (inferred from that field's country), or default (nothing to go by).",
           nullable=False),
    Column("owner", "string", "The ledger's owner: scheme and ID, e.g. 'business:NO:ORG 987654321'."),
    Column("payout_bank_account", "string", "The account payouts go to: scheme and ID."),
    Column("recipient_handles", "strings", "The recipient handles (sales units) the ledger settles for."),
    Column("listed", "boolean",
           "Whether the keys can read the ledger now; false once access was withdrawn (its data is kept).",
           nullable=False),
    Column("first_seen", "timestamp", "When this project first saw the ledger in the ledger list (UTC)."),
    Column("last_seen", "timestamp", "When the ledger list last included the ledger (UTC)."),
)
CATALOG_SCHEMA = pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in CATALOG_COLUMNS])
NOT_NEWS = ("last_seen",)  # a later last_seen alone changes nothing an analyst would look at


@dataclass(frozen=True)
class CatalogUpdate:
    records: list[dict[str, Any]]  # every ledger ever seen, by ledger ID
    new: list[str]  # listed now, not before
    withdrawn: list[str]  # listed before, not now
    changed: bool  # anything an analyst would want to see besides a later last_seen


def country_of(scheme: object, separator: str, index: int) -> str | None:
    parts = scheme.split(separator) if isinstance(scheme, str) else []
    return parts[index] if len(parts) > index else None


def infer_timezone(item: dict[str, Any], default: str) -> tuple[str, str]:
    """(time zone, where it came from) for an item of the ledger list."""
    owner, account = item.get("owner") or {}, item.get("payoutBankAccount") or {}
    handles = item.get("settlesForRecipientHandles") or []
    candidates = [
        ("owner", country_of(owner.get("scheme") if isinstance(owner, dict) else None, ":", 1)),  # business:NO:ORG
        ("payout_account", country_of(account.get("scheme") if isinstance(account, dict) else None, ":", 1)),
        *(("recipient_handle", country_of(h, ":", 0)) for h in handles),  # NO:123456; api:<MSN> has no country
        ("currency", CURRENCY_COUNTRIES.get(str(item.get("currency")))),
    ]
    for source, country in candidates:
        if country in COUNTRY_TIMEZONES:
            return COUNTRY_TIMEZONES[country], source
    return default, "default"


def scheme_and_id(value: object) -> str | None:
    if not isinstance(value, dict) or not (value.get("scheme") or value.get("id")):
        return None
    return " ".join(str(value[k]) for k in ("scheme", "id") if value.get(k))


def record_of(ledger: Ledger, previous: dict[str, Any] | None, now: datetime, default_timezone: str,
              configured: dict[str, str]) -> dict[str, Any]:
    if ledger.ledger_id in configured:
        timezone, source = configured[ledger.ledger_id], "configured"
    else:
        timezone, source = infer_timezone(ledger.raw, default_timezone)
    return {
        "ledger_id": ledger.ledger_id,
        "currency": ledger.currency,
        "timezone": timezone,
        "timezone_source": source,
        "owner": scheme_and_id(ledger.raw.get("owner")),
        "payout_bank_account": scheme_and_id(ledger.raw.get("payoutBankAccount")),
        "recipient_handles": list(ledger.settles_for_recipient_handles),
        "listed": True,
        "first_seen": previous["first_seen"] if previous else now,
        "last_seen": now,
    }


def update_catalog(previous: dict[str, dict[str, Any]], listed: list[Ledger], now: datetime,
                   default_timezone: str, configured: Mapping[str, str]) -> CatalogUpdate:
    """The catalog after a look at the ledger list: ``listed`` now; a ledger no longer listed keeps its row,
    marked unlisted. ``configured``: the time zones set per ledger (REPORT_ASSETS_LEDGER_TIMEZONES)."""
    records = {ledger.ledger_id: record_of(ledger, previous.get(ledger.ledger_id), now, default_timezone, configured)
               for ledger in listed}
    for ledger_id in sorted(set(previous) - set(records)):
        records[ledger_id] = previous[ledger_id] | {"listed": False}
    was_listed = {i for i, r in previous.items() if r["listed"]}
    new = [ledger.ledger_id for ledger in listed if ledger.ledger_id not in was_listed]
    withdrawn = sorted(was_listed - {ledger.ledger_id for ledger in listed})

    def essentials(record: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if record is None else {k: v for k, v in record.items() if k not in NOT_NEWS}

    changed = any(essentials(record) != essentials(previous.get(i)) for i, record in records.items())
    return CatalogUpdate([records[i] for i in sorted(records)], new, withdrawn, changed)


CATALOG_NAME = "ledgers"  # the catalog's file in the lake: <lake>/ledgers/part-0.parquet


def read_catalog(lake: ParquetLake) -> dict[str, dict[str, Any]]:
    stored = lake.read_table(CATALOG_NAME)
    if stored is None:
        return {}
    columns = [stored.column(f.name).cast(f.type) if f.name in stored.column_names else pa.nulls(len(stored), f.type)
               for f in CATALOG_SCHEMA]  # a catalog written before a column was added has it empty
    return {row["ledger_id"]: row for row in pa.Table.from_arrays(columns, schema=CATALOG_SCHEMA).to_pylist()}


def write_catalog(lake: ParquetLake, records: list[dict[str, Any]]) -> None:
    lake.write_table(CATALOG_NAME, pa.Table.from_pylist(records, schema=CATALOG_SCHEMA))


def tracked_ledgers(catalog: dict[str, dict[str, Any]], allowed: frozenset[str] | None) -> dict[str, str]:
    """The ledgers runs fetch, with their time zones: listed now (access granted) and, when an allow-list
    is set, on it."""
    return {i: r["timezone"] for i, r in sorted(catalog.items())
            if r["listed"] and (allowed is None or i in allowed)}


class TrackingError(ValueError):
    """A ledger asked for (by the allow-list or a run's config) that the keys cannot read."""


def refresh_catalog(listed: list[Ledger], lake: ParquetLake, default_timezone: str, now: datetime,
                    configured: Mapping[str, str]) -> CatalogUpdate:
    """Records a fresh look at the ledger list in the catalog: new ledgers added, withdrawn ones kept."""
    update = update_catalog(read_catalog(lake), listed, now, default_timezone, configured)
    write_catalog(lake, update.records)
    return update


def ledgers_for_run(catalog: dict[str, dict[str, Any]], allowed: frozenset[str] | None,
                    narrowed_to: list[str]) -> dict[str, str]:
    """The tracked ledgers a run covers (all, or those its config names), with their time zones. Naming a
    ledger the keys have never listed (in the allow-list), or cannot read now (in the run's config), is an
    error that lists those they can; an allow-listed ledger whose access was withdrawn is simply not fetched."""
    listed = sorted(i for i, r in catalog.items() if r["listed"])
    unknown = sorted((set(allowed or ()) - set(catalog)) | (set(narrowed_to) - set(listed)))
    if unknown:
        readable = ", ".join(listed[:20]) + (f" and {len(listed) - 20} more" if len(listed) > 20 else "")
        raise TrackingError(f"Ledger(s) {', '.join(unknown)} cannot be read with these keys (not in the ledger "
                            f"list); they can read: {readable or 'none'}. Fix {ENV_LEDGER_IDS} or the run's "
                            "ledger_ids.")
    tracked = tracked_ledgers(catalog, allowed)
    return {i: zone for i, zone in tracked.items() if not narrowed_to or i in narrowed_to}
