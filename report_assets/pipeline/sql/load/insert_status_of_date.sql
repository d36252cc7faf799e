-- The status of a date's ledger-days, as the loaded rows give it (a ledger-day without entries has no rows, and
-- so no status here: the run that stored it recorded it in its own status file).
INSERT OR REPLACE INTO ledger_day_status
SELECT ledger_id, ledger_date, $topic, bool_or(is_open), count(*), max(fetched_at), any_value(source)
FROM loaded_rows GROUP BY ledger_id, ledger_date;
