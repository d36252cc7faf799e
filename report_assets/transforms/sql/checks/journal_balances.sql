-- ERROR: a journal whose debits and credits differ (an entry booked on one side only).
SELECT ledger_id, ledger_date, 'journal ' || journal_id || ': debits ' || money(sum(debit), any_value(currency))
    || ', credits ' || money(sum(credit), any_value(currency)) AS detail
FROM journal_lines JOIN slice_keys USING (ledger_id, ledger_date)
GROUP BY ledger_id, ledger_date, journal_id
HAVING sum(debit) != sum(credit);
