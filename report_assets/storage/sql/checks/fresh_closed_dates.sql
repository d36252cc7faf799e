-- WARN: a ledger whose newest stored closed ledger date is more than {freshness_days} days old
-- (dates can stay open for weeks, but this is worth a look: access withdrawn, or a run not scheduled).
SELECT ledger_id, max(ledger_date) AS ledger_date,
    'newest closed ledger date ' || max(ledger_date) || ' is older than ' || {freshness_days} || ' days' AS detail
FROM ledger_day_status
WHERE topic = 'funds' AND NOT is_open AND ledger_id IN (SELECT ledger_id FROM slice_keys)
GROUP BY ledger_id
HAVING max(ledger_date) < DATE '{today}' - {freshness_days};
