-- The status of a date's ledger-days is replaced with the date's file (see insert_status_of_date).
DELETE FROM ledger_day_status WHERE ledger_date = CAST($ledger_date AS DATE) AND topic = $topic;
