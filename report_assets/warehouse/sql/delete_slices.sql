-- Removes every ledger-day listed in the registered relation slice_keys (ledger_id, ledger_date),
-- from a ledger table or a summary table.
DELETE FROM {table} USING slice_keys
WHERE {table}.ledger_id = slice_keys.ledger_id AND {table}.ledger_date = slice_keys.ledger_date;
