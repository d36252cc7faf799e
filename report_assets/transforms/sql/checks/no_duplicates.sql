-- ERROR: the same entry (position, or pspReference + type + amount + time) more than once in a ledger-day.
SELECT ledger_id, ledger_date, '{topic}: ' || count(*) || ' copies of ' || coalesce(psp_reference, '')
    || ' ' || entry_type || ' ' || money(amount, any_value(currency)) || ' at ' || time AS detail
FROM {table} JOIN slice_keys USING (ledger_id, ledger_date)
GROUP BY ledger_id, ledger_date, psp_reference, entry_type, amount, time, position
HAVING count(*) > 1
UNION ALL
SELECT ledger_id, ledger_date, '{topic}: position ' || position || ' appears ' || count(*) || ' times'
FROM {table} JOIN slice_keys USING (ledger_id, ledger_date)
GROUP BY ledger_id, ledger_date, position HAVING count(*) > 1;
