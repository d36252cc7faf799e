-- One row per ledger entry; a ledger-day (ledger_id, ledger_date) is replaced as a whole.
CREATE TABLE IF NOT EXISTS {table} (
    {columns}
);
