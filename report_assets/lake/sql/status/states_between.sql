-- Per ledger-day of the dates first..last: closed when every topic is stored closed, else open when each
-- topic is stored, the first error of a failed attempt since, and when it was last stored.
SELECT ledger_id, ledger_date,
    CASE WHEN count(*) = 2 AND min(stored) = 'closed' AND max(stored) = 'closed' THEN 'closed'
         WHEN count(*) = 2 AND count(stored) = 2 THEN 'open' END AS stored,
    min(error) AS error, max(fetched_at) AS fetched_at
FROM ledger_day_state
WHERE ledger_date BETWEEN ? AND ?
GROUP BY ledger_date, ledger_id;
