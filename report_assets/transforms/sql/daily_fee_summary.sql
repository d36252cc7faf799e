-- One row per ledger-day in slice_keys: what the day cost in fees.
-- Costs are positive numbers (minor units); credit notes and corrections are signed as booked on the
-- fees ledger (positive reduces what the merchant owes). The effective fee rate matches each of the
-- day's captures to its capture fee on pspReference, on whichever of the next {fee_lag_days} dates it landed.
WITH fees AS (
    SELECT f.* FROM fees_ledger f JOIN slice_keys k USING (ledger_id, ledger_date)
), fee_days AS (
    SELECT ledger_id, ledger_date,
        any_value(currency) AS currency,
        -coalesce(sum(amount) FILTER (WHERE entry_type = 'capture-fee'), 0) AS capture_fees,
        -coalesce(sum(amount) FILTER (WHERE entry_type = 'service-fee'), 0) AS service_fees,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'correction'), 0) AS fee_corrections,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'credit-note'), 0) AS credit_notes,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'fees-retained'), 0) AS fees_retained,
        coalesce(sum(amount) FILTER (WHERE entry_type = 'fees-invoiced'), 0) AS fees_invoiced,
        count(*) AS fee_entries,
        arg_min(balance_before, position) AS opening_fee_balance,
        arg_max(balance_after, position) AS closing_fee_balance
    FROM fees GROUP BY ledger_id, ledger_date
), captures AS (
    SELECT c.ledger_id, c.ledger_date, c.psp_reference, c.amount, c.currency
    FROM funds_ledger c JOIN slice_keys k USING (ledger_id, ledger_date)
    WHERE c.entry_type = 'capture'
), capture_days AS (
    SELECT ledger_id, ledger_date, any_value(currency) AS currency, sum(amount) AS captured_amount,
        count(*) AS captures
    FROM captures GROUP BY ledger_id, ledger_date
), matched AS (
    SELECT c.ledger_id, c.ledger_date, -sum(f.amount) AS fees_of_captures
    FROM captures c JOIN fees_ledger f ON {capture_fee_of_capture}
    GROUP BY c.ledger_id, c.ledger_date
), status AS (
    SELECT ledger_id, ledger_date,
        count(*) = 2 AND NOT bool_or(is_open) AS both_closed
    FROM ledger_day_status JOIN slice_keys USING (ledger_id, ledger_date)
    GROUP BY ledger_id, ledger_date
)
SELECT
    k.ledger_id,
    k.ledger_date,
    coalesce(fd.currency, cd.currency) AS currency,
    coalesce(fd.capture_fees, 0) AS capture_fees,
    coalesce(fd.service_fees, 0) AS service_fees,
    coalesce(fd.fee_corrections, 0) AS fee_corrections,
    coalesce(fd.credit_notes, 0) AS credit_notes,
    coalesce(fd.fees_retained, 0) AS fees_retained,
    coalesce(fd.fees_invoiced, 0) AS fees_invoiced,
    coalesce(fd.fee_entries, 0) AS fee_entries,
    coalesce(cd.captures, 0) AS captures,
    coalesce(cd.captured_amount, 0) AS captured_amount,
    coalesce(m.fees_of_captures, 0) AS fees_of_captures,
    CASE WHEN cd.captured_amount > 0 THEN m.fees_of_captures / cd.captured_amount END AS effective_fee_rate,
    fd.opening_fee_balance,
    fd.closing_fee_balance,
    coalesce(s.both_closed, false) AS is_final
FROM slice_keys k
LEFT JOIN fee_days fd USING (ledger_id, ledger_date)
LEFT JOIN capture_days cd USING (ledger_id, ledger_date)
LEFT JOIN matched m USING (ledger_id, ledger_date)
LEFT JOIN status s USING (ledger_id, ledger_date)
ORDER BY k.ledger_id, k.ledger_date;
