-- WARN: a ledger whose newest stored closed ledger date is more than {freshness_days} days old
-- (dates can stay open for weeks, but this is worth a look: access withdrawn, or a run not scheduled).
-- Said on each of its ledger-days checked, so that every date the run checked records what it found.
WITH newest AS (
    SELECT ledger_id, max(ledger_date) AS newest_closed
    FROM ledger_day_status
    WHERE topic = 'funds' AND NOT is_open AND ledger_id IN (SELECT ledger_id FROM slice_keys)
    GROUP BY ledger_id
    HAVING max(ledger_date) < DATE '{today}' - {freshness_days}
)
SELECT k.ledger_id, k.ledger_date,
    'newest closed ledger date ' || n.newest_closed || ' is older than ' || {freshness_days} || ' days' AS detail
FROM slice_keys k JOIN newest n USING (ledger_id)
ORDER BY k.ledger_id, k.ledger_date;
