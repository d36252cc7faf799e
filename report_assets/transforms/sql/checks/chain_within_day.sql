-- ERROR: an entry whose balanceBefore is not the previous entry's balanceAfter within its ledger-day.
SELECT ledger_id, ledger_date, '{topic}: position ' || position || ' starts at ' || money(balance_before, currency)
    || ' but the previous entry ended at ' || money(previous_after, currency) AS detail
FROM (
    SELECT t.*, lag(balance_after) OVER (PARTITION BY ledger_id, ledger_date ORDER BY position) AS previous_after
    FROM {table} t JOIN slice_keys USING (ledger_id, ledger_date)
)
WHERE previous_after IS NOT NULL AND balance_before != previous_after;
