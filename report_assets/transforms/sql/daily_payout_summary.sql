-- One row per ledger-day in slice_keys: where the funds went, and what was paid out.
-- Amounts are signed as booked on the funds ledger (money to the merchant positive), except
-- payout_amount, which is the positive amount scheduled for the bank.
WITH funds AS (
    SELECT f.* FROM funds_ledger f JOIN slice_keys k USING (ledger_id, ledger_date)
), days AS (
    SELECT ledger_id, ledger_date,
        any_value(currency) AS currency,
        arg_min(balance_before, position) AS opening_balance,
        arg_max(balance_after, position) AS closing_balance,
        count(*) FILTER (WHERE entry_type = 'capture') AS captures,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'capture'), 0) AS captured_amount,
        count(*) FILTER (WHERE entry_type = 'refund') AS refunds,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'refund'), 0) AS refunded_amount,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'retained-disputed-capture'), 0) AS disputes_retained,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'returned-disputed-capture'), 0) AS disputes_returned,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'fees-retained'), 0) AS fees_retained,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'correction'), 0) AS corrections,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'top-up'), 0) AS top_ups,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'credit-note'), 0) AS credit_notes,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'payout-aborted'), 0) AS payout_aborted_amount,
        coalesce(sum(amount) FILTER (WHERE entry_type NOT IN ({known_funds_types})), 0) AS other_amount,
        count(*) FILTER (WHERE entry_type NOT IN ({known_funds_types})) AS other_entries,
        -coalesce(sum(amount) FILTER (WHERE entry_type IN ({payout_types})), 0) AS payout_amount,
        max(TRY_CAST(split_part(psp_reference, '-', -1) AS BIGINT)) FILTER (WHERE entry_type IN ({payout_types}))
            AS payout_number,
        max(reference) FILTER (WHERE entry_type IN ({payout_types})) AS payout_bank_text
    FROM funds GROUP BY ledger_id, ledger_date
), status AS (
    SELECT ledger_id, ledger_date, count(*) = 2 AND NOT bool_or(is_open) AS both_closed
    FROM ledger_day_status JOIN slice_keys USING (ledger_id, ledger_date)
    GROUP BY ledger_id, ledger_date
)
SELECT
    k.ledger_id, k.ledger_date, d.currency, d.opening_balance, d.closing_balance,
    coalesce(d.captures, 0) AS captures, coalesce(d.captured_amount, 0) AS captured_amount,
    coalesce(d.refunds, 0) AS refunds, coalesce(d.refunded_amount, 0) AS refunded_amount,
    coalesce(d.disputes_retained, 0) AS disputes_retained, coalesce(d.disputes_returned, 0) AS disputes_returned,
    coalesce(d.fees_retained, 0) AS fees_retained, coalesce(d.corrections, 0) AS corrections,
    coalesce(d.top_ups, 0) AS top_ups, coalesce(d.credit_notes, 0) AS credit_notes,
    coalesce(d.other_amount, 0) AS other_amount, coalesce(d.other_entries, 0) AS other_entries,
    coalesce(d.payout_amount, 0) AS payout_amount, d.payout_number, d.payout_bank_text,
    coalesce(d.payout_aborted_amount, 0) AS payout_aborted_amount,
    d.closing_balance AS unpaid_balance_carried,
    coalesce(s.both_closed, false) AS is_final
FROM slice_keys k
LEFT JOIN days d USING (ledger_id, ledger_date)
LEFT JOIN status s USING (ledger_id, ledger_date)
ORDER BY k.ledger_id, k.ledger_date;
