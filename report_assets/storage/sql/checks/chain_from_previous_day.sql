-- ERROR: a ledger-day that does not open where the previous stored, closed day of the ledger closed.
WITH days AS (
    SELECT ledger_id, ledger_date, arg_min(balance_before, position) AS opening,
        arg_max(balance_after, position) AS closing
    FROM {table} GROUP BY ledger_id, ledger_date
), ordered AS (
    SELECT d.*, lag(closing) OVER w AS previous_closing, lag(ledger_date) OVER w AS previous_date
    FROM days d WINDOW w AS (PARTITION BY ledger_id ORDER BY ledger_date)
)
SELECT o.ledger_id, o.ledger_date, '{topic}: opens at ' || o.opening || ' but ' || o.previous_date
    || ' closed at ' || o.previous_closing AS detail
FROM ordered o JOIN slice_keys USING (ledger_id, ledger_date)
JOIN ledger_day_status s ON s.ledger_id = o.ledger_id AND s.ledger_date = o.previous_date
    AND s.topic = '{topic}' AND NOT s.is_open
WHERE o.previous_date = o.ledger_date - 1 AND o.opening != o.previous_closing;
