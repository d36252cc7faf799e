-- ERROR: a monthly statement whose closing funds balance is not the funds ledger's last balanceAfter of
-- the month, or whose funds balance does not move by the month's funds-ledger amounts.
WITH ledger AS (
    SELECT ledger_id, CAST(date_trunc('month', ledger_date) AS DATE) AS month,
        arg_max(balance_after, (ledger_date, position)) AS last_balance_after,
        arg_min(balance_before, (ledger_date, position)) AS first_balance_before,
        sum(amount) AS month_total
    FROM funds_ledger GROUP BY ALL
)
SELECT s.ledger_id, s.month, 'closing funds balance ' || coalesce(CAST(s.closing_funds_balance AS VARCHAR), 'none')
    || ', the funds ledger''s last balanceAfter ' || l.last_balance_after || ' (minor units)' AS detail
FROM monthly_statement s JOIN ledger l USING (ledger_id, month)
WHERE s.closing_funds_balance IS DISTINCT FROM l.last_balance_after
   OR s.opening_funds_balance IS DISTINCT FROM l.first_balance_before
   OR s.closing_funds_balance - s.opening_funds_balance != l.month_total;
