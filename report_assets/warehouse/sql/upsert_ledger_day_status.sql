INSERT OR REPLACE INTO ledger_day_status
SELECT ledger_id, ledger_date, topic, is_open, entries, fetched_at, source FROM status_rows;
