-- ERROR: a payout that is not the last entry of its ledger-day, or leaves a balance other than zero or
-- the reserve the ledger's previous payout left.
WITH last_positions AS (
    SELECT ledger_id, ledger_date, max(position) AS last_position
    FROM funds_ledger JOIN slice_keys USING (ledger_id, ledger_date) GROUP BY ledger_id, ledger_date
)
SELECT f.ledger_id, f.ledger_date, 'funds: payout ' || f.psp_reference || ' at position ' || f.position
    || ' of ' || l.last_position || ', leaving ' || money(f.balance_after, f.currency) AS detail
FROM funds_ledger f JOIN last_positions l USING (ledger_id, ledger_date)
WHERE f.entry_type IN ({payout_types}) AND (
    f.position != l.last_position
    OR f.balance_after < 0
    OR (f.balance_after != 0 AND f.balance_after != coalesce((
        SELECT arg_max(p.balance_after, p.ledger_date) FROM funds_ledger p
        WHERE p.ledger_id = f.ledger_id AND p.entry_type IN ({payout_types})
            AND p.ledger_date BETWEEN f.ledger_date - 31 AND f.ledger_date - 1), f.balance_after)));
