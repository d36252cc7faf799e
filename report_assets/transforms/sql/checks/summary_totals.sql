-- ERROR: a daily payout summary whose parts do not add up to the raw rows of its ledger-day.
WITH raw AS (
    SELECT ledger_id, ledger_date, sum(amount) AS total, count(*) AS entries
    FROM funds_ledger JOIN slice_keys USING (ledger_id, ledger_date) GROUP BY ledger_id, ledger_date
)
SELECT s.ledger_id, s.ledger_date, 'daily_payout_summary: parts add up to '
    || money(s.captured_amount + s.refunded_amount + s.disputes_retained + s.disputes_returned + s.fees_retained
        + s.corrections + s.top_ups + s.credit_notes + s.other_amount + s.payout_aborted_amount - s.payout_amount,
        s.currency)
    || ', the raw entries to ' || money(r.total, s.currency) AS detail
FROM daily_payout_summary s JOIN slice_keys USING (ledger_id, ledger_date) JOIN raw r USING (ledger_id, ledger_date)
WHERE s.captured_amount + s.refunded_amount + s.disputes_retained + s.disputes_returned + s.fees_retained
    + s.corrections + s.top_ups + s.credit_notes + s.other_amount + s.payout_aborted_amount - s.payout_amount
    != r.total
   OR s.closing_balance - s.opening_balance != r.total;
