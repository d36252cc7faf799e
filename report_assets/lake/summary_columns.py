"""What each summary column means, in an analyst's words: for the Dagster UI and the DuckDB comments."""

from __future__ import annotations

COMMON = {
    "ledger_id": "The ledger (settlement account).",
    "ledger_date": "The accounting day, in the ledger's time zone.",
    "currency": "Currency of the ledger; all amounts are in its minor units (øre, cent).",
    "is_final": "False while the ledger date (or a date it depends on) is still open: numbers can still change.",
}

JOURNAL_LINES: dict[str, str] = {
    **COMMON,
    "journal_id": "The journal, one per ledger-day: the ledger ID and the ledger date, e.g. 302321-2026-11-18; the "
                  "reference in exports.",
    "line": "Line number within the journal, from 1.",
    "account": "The general-ledger account (from the account map, README 'Booking').",
    "account_role": "What the account stands for: funds_clearing, fees_clearing, payouts_in_transit, sales, "
                    "refunds, fee_expense, disputes, corrections, top_up, credit_notes, fees_invoiced, "
                    "suspense, bank.",
    "debit": "Debit in minor units (never negative; exactly one of debit and credit is non-zero).",
    "credit": "Credit in minor units (never negative; exactly one of debit and credit is non-zero).",
    "entry_type": "The Report API entry type the line comes from.",
    "text": "What the line is, e.g. 'capture, 812 entries' or 'payout-scheduled 2002100'.",
    "payout_number": "On payout lines: the payout's number.",
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
        "payout_number": "The payout's number (the end of its pspReference, e.g. 2002100 in 302321-2002100).",
        "payout_bank_text": "The bank transfer text (missing for Norway today).",
        "payout_aborted_amount": "Money back on the ledger from an aborted payout.",
        "unpaid_balance_carried": "What stays on the ledger into the next day (reserve, or unpaid balance).",
    },
    "payouts": {
        **COMMON,
        "ledger_date": "The ledger date on which the payout was scheduled.",
        "payout_number": "The payout's number.",
        "psp_reference": "The ledger ID and the payout number, e.g. 302321-2002100.",
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
    "journal_lines": JOURNAL_LINES,
    "bank_matches": {
        "ledger_id": "The ledger whose payout account the bank line is on.",
        "currency": "Currency of the payout and the bank line; amounts in its minor units.",
        "payout_number": "The payout's number (for an unmatched bank line: the number its text gives).",
        "scheduled_on": "The ledger date the payout was scheduled (payout-scheduled on the funds ledger).",
        "payout_amount": "The amount scheduled for payout (positive).",
        "bank_account": "The payout account, as the Report API names it (bank statements may write it as IBAN or "
                        "in another form: both are matched as one account).",
        "booking_date": "The bank's booking date of the matching credit.",
        "bank_amount": "The bank line's amount (credit positive).",
        "bank_text": "The bank line's text, e.g. 'Utb. 2002463 Vippsnr 123455'.",
        "bank_reference": "The bank's own reference for the line.",
        "statement_file": "The camt.053 file the line comes from.",
        "status": "matched; amount_mismatch (the number matches, the amount not: an ERROR); reversed (arrived, "
                  "then the bank reversed the credit); not_arrived (the bank statement goes past its ledger date "
                  "without it); no_statement_yet (no bank statement of the account reaches past its ledger date); "
                  "statement_unreadable (a statement of its account and period was set aside as unreadable); "
                  "aborted (payout-aborted put it back on the ledger); unmatched_bank_line (looks like a payout, "
                  "matches none).",
        "bank_days_to_arrive": "Bank days (the account's country's: no weekends, no bank holidays) from the ledger "
                               "date to the bank's booking date.",
        "bank_days_open": "For a payout not arrived: bank days since its ledger date.",
    },
    "bank_journal_lines": {
        **JOURNAL_LINES,
        "ledger_date": "The bank's booking date of the payout's arrival.",
        "journal_id": "The ledger ID, the booking date and the payout, e.g. 302321-2026-11-20-bank-2002100.",
        "line": "1 (bank) or 2 (in transit).",
        "account_role": "bank or payouts_in_transit.", "entry_type": "Always 'bank-statement'.",
        "text": "The bank line's text.", "payout_number": "The payout that arrived.",
        "is_final": "True: a booked bank line does not change.",
    },
    "monthly_statement": {
        "ledger_id": "The ledger.", "month": "The calendar month, YYYY-MM.",
        "currency": "Currency of the ledger; amounts in its minor units (the lake views add _major columns).",
        "days_stored": "Ledger dates of the month stored (both ledgers).",
        "days_closed": "Of them, closed on both ledgers.",
        "missing_dates": "Dates of the month, up to today, not stored (a gap between runs, or before the history "
                         "begins), e.g. '2026-11-01..2026-11-08, 2026-11-23'; empty when none. The month is not "
                         "final while any are missing: fetch them (make export fetches them itself).",
        "open_dates": "Stored dates the Report API still has open: their figures can still change.",
        "opening_funds_balance": "Funds ledger balance before the first stored day's first entry.",
        "opening_fees_balance": "Fees ledger balance before the first stored day's first entry (negative: owed).",
        "sales": "Movement: captures booked to sales (positive). Every movement column is signed by what it did to "
                 "the balances (funds plus fees): opening balances + movements + moved_on_missing_dates = closing "
                 "balances.",
        "refunds": "Movement: refunds (negative).",
        "fee_expense": "Movement: capture and service fees (negative).",
        "disputes": "Movement: disputes retained (negative) and returned (positive).",
        "corrections": "Movement: corrections on either ledger, as booked.",
        "top_up": "Movement: top-ups paid in by the merchant (positive).",
        "credit_notes": "Movement: credit notes on either ledger (positive).",
        "fees_invoiced": "Movement: fees moved to a monthly invoice, off the fees balance (positive).",
        "suspense": "Movement: entry types without a booking rule, by amount: clear by hand.",
        "payouts_scheduled": "Movement: payouts scheduled in the month (negative: they leave the funds balance).",
        "payouts_aborted": "Movement: payouts aborted in the month, back on the funds balance (positive).",
        "moved_on_missing_dates": "Movement across dates not stored inside the stored span, read from the balances "
                                  "on either side of each gap (zero without a gap): stated, not guessed.",
        "closing_funds_balance": "Funds ledger balance after the last stored day's last entry (its balanceAfter).",
        "closing_fees_balance": "Fees ledger balance after the last stored day's last entry (negative: fees owed).",
        "payouts_arrived": "Memo, not a movement: payouts that arrived on the bank statement in the month "
                           "(positive).",
        "in_transit_at_month_end": "Memo: payouts scheduled but not yet on the bank statement at the month end "
                                   "(positive).",
        "payout_numbers": "The numbers of the payouts scheduled in the month.",
        "open_payout_numbers": "The numbers of the payouts in transit at the month end.",
        "carried_by_payout_number": "The first payout after the month end: it pays out what the month end held on "
                                    "funds_clearing (above any reserve).",
        "carried_by_payout_date": "Its ledger date.",
        "is_final": "True when the month is over and every date of it is stored closed: no date missing or open.",
        "computed_at": "When the books were computed (UTC): ledger-days stored after it are not in them.",
    },
}

# Columns that are not amounts: counts, identifiers, texts, dates and ratios. Every other column is money, in
# minor units.
NOT_MONEY = frozenset({*COMMON, "fee_entries", "captures", "refunds", "other_entries", "payout_number",
                       "payout_bank_text", "bank_text", "psp_reference", "covers_from", "covers_to",
                       "effective_fee_rate", "journal_id", "line", "account", "account_role", "entry_type",
                       "text", "scheduled_on", "bank_account", "booking_date", "bank_reference",
                       "statement_file", "status", "bank_days_to_arrive", "bank_days_open", "month",
                       "days_stored", "days_closed", "payout_numbers", "open_payout_numbers",
                       "missing_dates", "open_dates", "computed_at",
                       "carried_by_payout_number", "carried_by_payout_date"})


# Names that are a count in one table and money in another: the monthly statement's movement of refunds.
MONEY_IN = {"monthly_statement": frozenset({"refunds"})}


def money_columns(table: str) -> list[str]:
    money = MONEY_IN.get(table, frozenset())
    return [name for name in COLUMNS[table] if name not in NOT_MONEY or name in money]


# Each column's DuckDB type, for the UI's column schema; every column not named here is an Int64 (money in minor
# units, counts, payout numbers). A test holds these to the types the warehouse's tables really have.
TEXT = frozenset({"ledger_id", "currency", "payout_bank_text", "psp_reference", "bank_text", "journal_id", "account",
                  "account_role", "entry_type", "text", "bank_account", "bank_reference", "statement_file", "status",
                  "month", "missing_dates", "open_dates", "payout_numbers", "open_payout_numbers"})
DATES = frozenset({"ledger_date", "covers_from", "covers_to", "scheduled_on", "booking_date", "carried_by_payout_date"})
OTHER_TYPES = {"is_final": "BOOLEAN", "effective_fee_rate": "DOUBLE", "computed_at": "TIMESTAMP WITH TIME ZONE"}


def column_type(name: str) -> str:
    return "VARCHAR" if name in TEXT else "DATE" if name in DATES else OTHER_TYPES.get(name, "BIGINT")
