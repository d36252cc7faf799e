-- A lake file holds every ledger of its date: loading it replaces the whole date.
DELETE FROM {table} WHERE ledger_date = CAST($ledger_date AS DATE);
