DELETE FROM {table} WHERE ledger_id = $ledger_id AND ledger_date = $ledger_date;
