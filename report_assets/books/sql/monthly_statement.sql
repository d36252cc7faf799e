-- One row per ledger and calendar month: the funds and fees balances at its start and end, what moved them
-- by role (signed by their effect on what the merchant is owed: sales positive, fees negative), the payouts
-- scheduled, what was still in transit at the month end, and which payout carries what the month end held.
WITH journal AS (
    SELECT ledger_id, ledger_date, account_role, debit, credit, entry_type, payout_number FROM journal_lines
    UNION ALL
    SELECT ledger_id, ledger_date, account_role, debit, credit, entry_type, payout_number FROM bank_journal_lines
), closed_days AS (
    SELECT ledger_id, ledger_date, count(*) = 2 AND NOT bool_or(is_open) AS closed
    FROM ledger_day_status GROUP BY ALL
), months AS (
    SELECT ledger_id, CAST(date_trunc('month', ledger_date) AS DATE) AS month, count(*) AS days_stored,
        count(*) FILTER (WHERE closed) AS days_closed
    FROM closed_days GROUP BY ALL
), funds AS (
    SELECT ledger_id, CAST(date_trunc('month', ledger_date) AS DATE) AS month, any_value(currency) AS currency,
        arg_min(opening_balance, ledger_date) FILTER (WHERE opening_balance IS NOT NULL) AS opening_funds_balance,
        arg_max(closing_balance, ledger_date) FILTER (WHERE closing_balance IS NOT NULL) AS closing_funds_balance
    FROM daily_payout_summary GROUP BY ALL
), fees AS (
    SELECT ledger_id, CAST(date_trunc('month', ledger_date) AS DATE) AS month, any_value(currency) AS currency,
        arg_min(opening_fee_balance, ledger_date) FILTER (WHERE opening_fee_balance IS NOT NULL) AS opening_fees_balance,
        arg_max(closing_fee_balance, ledger_date) FILTER (WHERE closing_fee_balance IS NOT NULL) AS closing_fees_balance
    FROM daily_fee_summary GROUP BY ALL
), movements AS (
    SELECT ledger_id, CAST(date_trunc('month', ledger_date) AS DATE) AS month,
        {role_movements},
        coalesce(sum(debit) FILTER (WHERE account_role = 'payouts_in_transit' AND entry_type IN ({payout_types})), 0)
            AS payouts_scheduled,
        coalesce(sum(credit) FILTER (WHERE account_role = 'payouts_in_transit' AND entry_type = 'payout-aborted'), 0)
            AS payouts_aborted,
        coalesce(sum(debit) FILTER (WHERE account_role = 'bank'), 0) AS payouts_arrived,
        coalesce(sum(debit - credit) FILTER (WHERE account_role = 'payouts_in_transit'), 0) AS in_transit_movement,
        string_agg(DISTINCT CAST(payout_number AS VARCHAR), ', ' ORDER BY CAST(payout_number AS VARCHAR))
            FILTER (WHERE entry_type IN ({payout_types})) AS payout_numbers
    FROM journal GROUP BY ALL
), transit AS (
    -- each payout's stay on payouts_in_transit: from the day it was scheduled to the day it arrived or came back
    SELECT ledger_id, payout_number,
        min(ledger_date) FILTER (WHERE debit > 0) AS sent_on,
        min(ledger_date) FILTER (WHERE credit > 0) AS left_on
    FROM journal WHERE account_role = 'payouts_in_transit' GROUP BY ALL
), rows AS (
    SELECT m.ledger_id, m.month, coalesce(f.currency, fe.currency) AS currency, m.days_stored, m.days_closed,
        f.opening_funds_balance, f.closing_funds_balance, fe.opening_fees_balance, fe.closing_fees_balance,
        {role_columns},
        coalesce(mv.payouts_scheduled, 0) AS payouts_scheduled, coalesce(mv.payouts_aborted, 0) AS payouts_aborted,
        coalesce(mv.payouts_arrived, 0) AS payouts_arrived,
        sum(coalesce(mv.in_transit_movement, 0)) OVER (PARTITION BY m.ledger_id ORDER BY m.month)
            AS in_transit_at_month_end,
        mv.payout_numbers
    FROM months m
    LEFT JOIN funds f USING (ledger_id, month)
    LEFT JOIN fees fe USING (ledger_id, month)
    LEFT JOIN movements mv USING (ledger_id, month)
)
SELECT r.*,
    (SELECT string_agg(CAST(t.payout_number AS VARCHAR), ', ' ORDER BY t.payout_number) FROM transit t
     WHERE t.ledger_id = r.ledger_id AND t.sent_on <= last_day(r.month)
        AND (t.left_on IS NULL OR t.left_on > last_day(r.month))) AS open_payout_numbers,
    (SELECT min_by(p.payout_number, p.ledger_date) FROM payouts p
     WHERE p.ledger_id = r.ledger_id AND p.ledger_date > last_day(r.month)) AS carried_by_payout_number,
    (SELECT min(p.ledger_date) FROM payouts p
     WHERE p.ledger_id = r.ledger_id AND p.ledger_date > last_day(r.month)) AS carried_by_payout_date,
    r.days_closed = day(last_day(r.month)) AS is_final
FROM rows r
ORDER BY r.ledger_id, r.month;
