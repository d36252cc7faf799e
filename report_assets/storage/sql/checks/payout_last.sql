-- ERROR: a payout that is not the last entry of its ledger-day, or leaves a negative balance.
WITH last_positions AS (
    SELECT ledger_id, ledger_date, max(position) AS last_position
    FROM funds_ledger JOIN slice_keys USING (ledger_id, ledger_date) GROUP BY ledger_id, ledger_date
)
SELECT f.ledger_id, f.ledger_date, 'funds: payout ' || f.psp_reference || ' at position ' || f.position
    || ' of ' || l.last_position || ', leaving ' || f.balance_after AS detail
FROM funds_ledger f JOIN last_positions l USING (ledger_id, ledger_date)
WHERE f.entry_type IN ({payout_types}) AND (f.position != l.last_position OR f.balance_after < 0);
