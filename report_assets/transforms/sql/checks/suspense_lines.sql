-- WARN: lines booked to suspense, naming the entry type: map it (or clear the suspense account by hand).
SELECT ledger_id, ledger_date, 'suspense: ' || entry_type || ' ' || money(sum(debit) - sum(credit), any_value(currency))
    || '; clear it by hand, or ask for a booking rule for this entry type' AS detail
FROM journal_lines JOIN slice_keys USING (ledger_id, ledger_date)
WHERE account_role = 'suspense'
GROUP BY ledger_id, ledger_date, entry_type;
