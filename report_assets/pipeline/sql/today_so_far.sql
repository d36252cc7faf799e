-- A ledger-day "so far": the rows the dates endpoint gave, then the feed's rows beyond them.
-- Both are the same entries in the same order, so an entry is counted once whichever way it came.
WITH dated AS (
    SELECT ledger_id, ledger_date, position, psp_reference, time, entry_type, amount, balance_before,
        balance_after, 'dates' AS came_from
    FROM {table} WHERE ledger_id = $ledger_id AND ledger_date = $ledger_date
)
SELECT * FROM dated
UNION ALL
SELECT ledger_id, ledger_date, position, psp_reference, time, entry_type, amount, balance_before, balance_after,
    'feed' AS came_from
FROM intraday_entries
WHERE topic = $topic AND ledger_id = $ledger_id AND ledger_date = $ledger_date
    AND position > (SELECT count(*) FROM dated)
ORDER BY position;
