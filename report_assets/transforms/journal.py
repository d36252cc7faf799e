"""Double-entry journal lines from the ledgers: one balanced journal per ledger-day.

The booking model is the provider's. One account holds what Vipps MobilePay owes the merchant
(``funds_clearing``, mirroring the funds ledger), one what the merchant owes it (``fees_clearing``,
mirroring the fees ledger). Each entry posts its amount to its own ledger's clearing account (a debit
when positive) and the opposite amount to the role its type is booked against, so each clearing
account's balance is its ledger's balance, by construction and checked. ``fees-retained`` is the one
transfer between the two clearing accounts: its two entries (one per ledger) balance each other. A
scheduled payout waits on ``payouts_in_transit`` until the bank statement shows it (``bank_matches``);
an entry type nobody mapped is booked against ``suspense``, flagged, never dropped.

A day's entries are aggregated by type, sign and payout, so a journal has a handful of lines however
many captures the day had.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from report_assets.core.sql_files import sql_in
from report_assets.report_api.entry_schema import PAYOUT_ENTRY_TYPES
from report_assets.transforms.accounts import AccountMap
from report_assets.warehouse.database import registered

sql = sql_in(__file__)
CLEARING_ROLE = {"funds": "funds_clearing", "fees": "fees_clearing"}
TRANSFER = None  # booked against the other clearing account, by the other ledger's own entry
PAYOUTS = {payout_type: "payouts_in_transit" for payout_type in sorted(PAYOUT_ENTRY_TYPES)}
# What each known entry type is booked against, in the order a journal lists them.
BOOKED_AGAINST: dict[str, dict[str, str | None]] = {
    "funds": {"capture": "sales", "refund": "refunds", "retained-disputed-capture": "disputes",
              "returned-disputed-capture": "disputes", "correction": "corrections", "credit-note": "credit_notes",
              "top-up": "top_up", "fees-retained": TRANSFER, "payout-aborted": "payouts_in_transit", **PAYOUTS},
    "fees": {"capture-fee": "fee_expense", "service-fee": "fee_expense", "credit-note": "credit_notes",
             "correction": "corrections", "fees-retained": TRANSFER, "fees-invoiced": "fees_invoiced"},
}


def booking_rules() -> pa.Table:
    rows = [(topic, entry_type, role, order) for topic, rules in BOOKED_AGAINST.items()
            for order, (entry_type, role) in enumerate(rules.items())]
    return pa.table({"topic": [r[0] for r in rows], "entry_type": [r[1] for r in rows],
                     "counter_role": pa.array([r[2] for r in rows], pa.string()),
                     "rule_order": pa.array([r[3] for r in rows], pa.int32())})


def account_rows(accounts: AccountMap) -> pa.Table:
    """The map as rows: ledger_id '' for the default of every ledger, else a ledger's own override."""
    rows = [("", role, account) for role, account in accounts.accounts.items()]
    rows += [(ledger_id, role, account) for ledger_id, overrides in accounts.ledgers.items()
             for role, account in overrides.items()]
    return pa.table({"ledger_id": [r[0] for r in rows], "role": [r[1] for r in rows],
                     "account": [r[2] for r in rows]})


def compute_journal_lines(connection: duckdb.DuckDBPyConnection, accounts: AccountMap,
                          payout_types: str) -> pa.Table:
    """The journal lines of the ledger-days registered as ``slice_keys``, from the warehouse's ledger tables."""
    with registered(connection, "booking_rules", booking_rules()), \
            registered(connection, "account_map", account_rows(accounts)):
        return connection.sql(sql("journal_lines", payout_types=payout_types)).to_arrow_table()
