-- A failure keeps what was stored before (the old version stays whole) and records why.
INSERT INTO ledger_day_state (ledger_id, ledger_date, topic, stored, entries, fetched_at, error, failed_at)
VALUES (?, ?, ?, NULL, NULL, NULL, ?, ?)
ON CONFLICT (ledger_date, ledger_id, topic) DO UPDATE SET error = excluded.error, failed_at = excluded.failed_at;
