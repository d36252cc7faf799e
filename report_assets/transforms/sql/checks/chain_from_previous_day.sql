-- ERROR: a ledger-day that does not open where the previous stored, closed day of the ledger closed.
WITH wanted AS (  -- the checked ledger-days and the day before each
    SELECT ledger_id, ledger_date FROM slice_keys
    UNION SELECT ledger_id, ledger_date - 1 FROM slice_keys
), days AS (
    SELECT ledger_id, ledger_date, arg_min(balance_before, position) AS opening,
        arg_max(balance_after, position) AS closing, any_value(currency) AS currency
    FROM {table} JOIN wanted USING (ledger_id, ledger_date)
    WHERE ledger_date BETWEEN (SELECT min(ledger_date) FROM wanted) AND (SELECT max(ledger_date) FROM wanted)
    GROUP BY ledger_id, ledger_date
)
SELECT d.ledger_id, d.ledger_date, '{topic}: opens at ' || money(d.opening, d.currency) || ' but ' || p.ledger_date
    || ' closed at ' || money(p.closing, p.currency) AS detail
FROM days d JOIN slice_keys USING (ledger_id, ledger_date)
JOIN days p ON p.ledger_id = d.ledger_id AND p.ledger_date = d.ledger_date - 1
JOIN ledger_day_status s ON s.ledger_id = p.ledger_id AND s.ledger_date = p.ledger_date
    AND s.topic = '{topic}' AND NOT s.is_open
WHERE d.opening != p.closing;
