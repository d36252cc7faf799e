INSERT INTO ledger_day_state (ledger_id, ledger_date, topic, stored, entries, fetched_at, error, failed_at)
VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)
ON CONFLICT (ledger_date, ledger_id, topic) DO UPDATE SET
    stored = excluded.stored, entries = excluded.entries, fetched_at = excluded.fetched_at,
    error = NULL, failed_at = NULL;
