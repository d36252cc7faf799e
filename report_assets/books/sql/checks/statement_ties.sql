-- ERROR: a monthly statement that does not tie to the ledgers, one row per term that fails, with the statement's
-- figure and the ledgers': its closing (opening) funds balance must be the funds ledger's last balanceAfter (first
-- balanceBefore) of the month's stored days, the same for fees, and its movements must add up
-- (opening balances + movements + moved_on_missing_dates = closing balances). Dates not stored are not a failure:
-- the ties are over what is stored.
WITH funds AS (
    SELECT ledger_id, strftime(ledger_date, '%Y-%m') AS month,
        arg_max(balance_after, (ledger_date, position)) AS last_after,
        arg_min(balance_before, (ledger_date, position)) AS first_before
    FROM funds_ledger GROUP BY ALL
), fees AS (
    SELECT ledger_id, strftime(ledger_date, '%Y-%m') AS month,
        arg_max(balance_after, (ledger_date, position)) AS last_after,
        arg_min(balance_before, (ledger_date, position)) AS first_before
    FROM fees_ledger GROUP BY ALL
), joined AS (
    SELECT s.*, f.last_after AS funds_after, f.first_before AS funds_before, fe.last_after AS fees_after,
        fe.first_before AS fees_before
    FROM monthly_statement s
    LEFT JOIN funds f USING (ledger_id, month)
    LEFT JOIN fees fe USING (ledger_id, month)
), terms AS (
    SELECT ledger_id, month, currency, 'closing funds balance' AS term, 'the funds ledger''s last balanceAfter' AS
        against, closing_funds_balance AS statement_figure, funds_after AS ledger_figure FROM joined
    UNION ALL
    SELECT ledger_id, month, currency, 'opening funds balance', 'the funds ledger''s first balanceBefore',
        opening_funds_balance, funds_before FROM joined
    UNION ALL
    SELECT ledger_id, month, currency, 'closing fees balance', 'the fees ledger''s last balanceAfter',
        closing_fees_balance, fees_after FROM joined
    UNION ALL
    SELECT ledger_id, month, currency, 'opening fees balance', 'the fees ledger''s first balanceBefore',
        opening_fees_balance, fees_before FROM joined
    UNION ALL
    SELECT ledger_id, month, currency, 'closing funds and fees balances', 'the opening balances plus the movements',
        coalesce(closing_funds_balance, 0) + coalesce(closing_fees_balance, 0),
        coalesce(opening_funds_balance, 0) + coalesce(opening_fees_balance, 0) + {movement_sum}
            + moved_on_missing_dates
    FROM joined
)
SELECT * FROM terms WHERE statement_figure IS DISTINCT FROM ledger_figure ORDER BY ledger_id, month, term;
