-- One row per payout scheduled on a ledger-day in slice_keys: the bank transfer, explained.
-- A payout covers the ledger dates after the previous payout up to its own date. Its amount is the
-- opening balance of that period plus every entry in it, less what stays on the ledger (a reserve).
-- Capture fees are matched to the period's captures on pspReference, wherever the fees landed.
-- $since (the last payout before the slice, see payout_window.sql) and $last (the slice's last date) bound
-- what is scanned, so that the cost does not grow with the history stored.
WITH payout_entries AS (
    SELECT ledger_id, ledger_date, psp_reference, reference, amount, balance_after, currency
    FROM funds_ledger WHERE entry_type IN ({payout_types})
        AND ledger_id IN (SELECT ledger_id FROM slice_keys)
        AND ledger_date BETWEEN CAST($since AS DATE) AND CAST($last AS DATE)
), periods AS (
    SELECT t.ledger_id, t.ledger_date AS payout_date, t.psp_reference, t.reference AS bank_text,
        -t.amount AS amount, t.balance_after AS closing_balance, t.currency,
        (SELECT max(q.ledger_date) FROM payout_entries q
         WHERE q.ledger_id = t.ledger_id AND q.ledger_date < t.ledger_date) AS previous_payout_date
    FROM payout_entries t JOIN slice_keys k USING (ledger_id, ledger_date)
), covered AS (
    SELECT p.ledger_id, p.payout_date, f.ledger_date, f.position, f.entry_type, f.psp_reference, f.amount,
        f.balance_before
    FROM periods p JOIN funds_ledger f
        ON f.ledger_id = p.ledger_id AND f.ledger_date <= p.payout_date
        AND (p.previous_payout_date IS NULL OR f.ledger_date > p.previous_payout_date)
    WHERE f.entry_type NOT IN ({payout_types}) AND f.ledger_date > CAST($since AS DATE) AND f.ledger_date <= CAST($last AS DATE)
), parts AS (
    SELECT ledger_id, payout_date,
        min(ledger_date) AS covers_from,
        count(DISTINCT ledger_date) AS ledger_dates_with_entries,
        arg_min(balance_before, (ledger_date, position)) AS opening_balance,
        count(*) FILTER (WHERE entry_type = 'capture') AS captures,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'capture'), 0) AS captured_amount,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'refund'), 0) AS refunded_amount,
        coalesce(sum(amount) FILTER (WHERE entry_type IN ('retained-disputed-capture', 'returned-disputed-capture')), 0)
            AS disputes,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'fees-retained'), 0) AS fees_retained,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'correction'), 0) AS corrections,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'top-up'), 0) AS top_ups,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'payout-aborted'), 0) AS aborted_payouts_returned,
        coalesce(sum(amount) FILTER (WHERE entry_type NOT IN ('capture', 'refund', 'retained-disputed-capture',
            'returned-disputed-capture', 'fees-retained', 'correction', 'top-up', 'payout-aborted')), 0) AS other
    FROM covered GROUP BY ledger_id, payout_date
), fees_of_captures AS (
    SELECT c.ledger_id, c.payout_date, -sum(f.amount) AS capture_fees_matched
    FROM covered c JOIN fees_ledger f ON {capture_fee_of_capture}
    WHERE c.entry_type = 'capture' AND f.ledger_date > CAST($since AS DATE) AND f.ledger_date <= CAST($last AS DATE) + {fee_lag_days}
    GROUP BY c.ledger_id, c.payout_date
), closed_days AS (
    SELECT p.ledger_id, p.payout_date, count(*) AS closed_dates
    FROM periods p JOIN ledger_day_status s
        ON s.ledger_id = p.ledger_id AND s.topic = 'funds' AND NOT s.is_open
        AND s.ledger_date <= p.payout_date AND s.ledger_date > p.previous_payout_date
    GROUP BY p.ledger_id, p.payout_date
)
SELECT
    p.ledger_id,
    p.payout_date AS ledger_date,
    TRY_CAST(split_part(p.psp_reference, '-', -1) AS BIGINT) AS payout_number,
    p.psp_reference,
    p.bank_text,
    p.currency,
    coalesce(p.previous_payout_date + 1, parts.covers_from, p.payout_date) AS covers_from,
    p.payout_date AS covers_to,
    p.amount,
    parts.opening_balance,
    coalesce(parts.captures, 0) AS captures,
    coalesce(parts.captured_amount, 0) AS captured_amount,
    coalesce(parts.refunded_amount, 0) AS refunded_amount,
    coalesce(parts.disputes, 0) AS disputes,
    coalesce(parts.fees_retained, 0) AS fees_retained,
    coalesce(parts.corrections, 0) AS corrections,
    coalesce(parts.top_ups, 0) AS top_ups,
    coalesce(parts.aborted_payouts_returned, 0) AS aborted_payouts_returned,
    coalesce(parts.other, 0) AS other,
    coalesce(f.capture_fees_matched, 0) AS capture_fees_matched,
    p.closing_balance,
    p.previous_payout_date IS NOT NULL
        AND coalesce(c.closed_dates, 0) = date_diff('day', p.previous_payout_date, p.payout_date) AS is_final
FROM periods p
LEFT JOIN parts ON parts.ledger_id = p.ledger_id AND parts.payout_date = p.payout_date
LEFT JOIN fees_of_captures f ON f.ledger_id = p.ledger_id AND f.payout_date = p.payout_date
LEFT JOIN closed_days c ON c.ledger_id = p.ledger_id AND c.payout_date = p.payout_date
ORDER BY p.ledger_id, p.payout_date;
