-- ERROR: an entry whose balanceAfter is not balanceBefore + amount.
SELECT ledger_id, ledger_date, '{topic}: position ' || position || ' (' || coalesce(psp_reference, '') || '): '
    || money(balance_after, currency) || ' != ' || money(balance_before, currency) || ' + '
    || money(amount, currency) AS detail
FROM {table} JOIN slice_keys USING (ledger_id, ledger_date)
WHERE balance_after != balance_before + amount;
