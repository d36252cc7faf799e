"""What each summary column means, in an analyst's words: for the Dagster UI and the DuckDB comments."""

from __future__ import annotations

COMMON = {
    "ledger_id": "The ledger (settlement account).",
    "ledger_date": "The accounting day, in the ledger's time zone.",
    "currency": "Currency of the ledger; all amounts are in its minor units (øre, cent).",
    "is_final": "False while the ledger date (or a date it depends on) is still open: numbers can still change.",
}

COLUMNS: dict[str, dict[str, str]] = {
    "daily_fee_summary": {
        **COMMON,
        "capture_fees": "Fees charged on captures booked this day (a cost, positive).",
        "service_fees": "Fees not tied to a capture, e.g. a subscription (a cost, positive).",
        "fee_corrections": "Corrections on the fees ledger, signed as booked (positive lowers what is owed).",
        "credit_notes": "Credit notes on the fees ledger (positive lowers what is owed).",
        "fees_retained": "Fees taken from the day's funds (net settlement).",
        "fees_invoiced": "Fees invoiced instead of retained (gross settlement, monthly).",
        "fee_entries": "Number of entries on the fees ledger this day.",
        "captures": "Number of captures on the funds ledger this day.",
        "captured_amount": "Sum of the day's captures (funds ledger).",
        "fees_of_captures": "Capture fees of this day's captures, matched on pspReference wherever they landed.",
        "effective_fee_rate": "fees_of_captures / captured_amount.",
        "opening_fee_balance": "Fees ledger balance before the day's first entry.",
        "closing_fee_balance": "Fees ledger balance after the day's last entry.",
    },
    "daily_payout_summary": {
        **COMMON,
        "opening_balance": "Funds balance before the day's first entry.",
        "closing_balance": "Funds balance after the day's last entry (after any payout).",
        "captures": "Number of captures.", "captured_amount": "Sum of captures.",
        "refunds": "Number of refunds.", "refunded_amount": "Sum of refunds (negative).",
        "disputes_retained": "Disputed captures held back (negative).",
        "disputes_returned": "Disputed captures given back (positive).",
        "fees_retained": "Fees taken from the funds (negative).",
        "corrections": "Corrections on the funds ledger, signed.",
        "top_ups": "Money the merchant paid in after a negative balance.",
        "credit_notes": "Credit notes on the funds ledger.",
        "other_amount": "Entries of types not known to this project, booked by amount.",
        "other_entries": "How many such entries.",
        "payout_amount": "Amount scheduled for payout to the bank this day (positive).",
        "payout_number": "The payout's number (from its pspReference <ledgerId>-<number>).",
        "payout_bank_text": "The bank transfer text (missing for Norway today).",
        "payout_aborted_amount": "Money back on the ledger from an aborted payout.",
        "unpaid_balance_carried": "What stays on the ledger into the next day (reserve, or unpaid balance).",
    },
    "payouts": {
        **COMMON,
        "ledger_date": "The ledger date on which the payout was scheduled.",
        "payout_number": "The payout's number.", "psp_reference": "<ledgerId>-<payoutNumber>.",
        "bank_text": "The bank transfer text.",
        "covers_from": "First ledger date the payout covers.", "covers_to": "Last ledger date it covers.",
        "amount": "The amount paid out (positive).",
        "opening_balance": "Balance carried into the period from before it.",
        "captures": "Number of captures in the period.", "captured_amount": "Captures in the period.",
        "refunded_amount": "Refunds in the period.", "disputes": "Disputes retained and returned in the period.",
        "fees_retained": "Fees retained in the period.", "corrections": "Corrections in the period.",
        "top_ups": "Top-ups in the period.", "aborted_payouts_returned": "Aborted payouts returned in the period.",
        "other": "Other entries in the period, by amount.",
        "capture_fees_matched": "Capture fees of the period's captures, matched on pspReference.",
        "closing_balance": "Balance left on the ledger after the payout (zero, or a reserve).",
    },
}

# Columns that are not amounts: counts, identifiers, texts, dates and ratios. Every other column is money, in
# minor units.
NOT_MONEY = frozenset({*COMMON, "fee_entries", "captures", "refunds", "other_entries", "payout_number",
                       "payout_bank_text", "bank_text", "psp_reference", "covers_from", "covers_to",
                       "effective_fee_rate"})


def money_columns(table: str) -> list[str]:
    return [name for name in COLUMNS[table] if name not in NOT_MONEY]
