-- ERROR: a ledger-day whose entries are in another currency than the rest of the ledger (as first stored).
WITH ledger_currency AS (
    SELECT ledger_id, arg_min(currency, ledger_date) AS currency
    FROM {table} WHERE ledger_id IN (SELECT ledger_id FROM slice_keys)
        AND ledger_date = (SELECT min(ledger_date) FROM {table} f WHERE f.ledger_id = {table}.ledger_id)
    GROUP BY ledger_id
)
SELECT t.ledger_id, t.ledger_date, '{topic}: ' || count(*) || ' entries in ' || t.currency
    || ', the ledger is in ' || any_value(c.currency) AS detail
FROM {table} t JOIN slice_keys USING (ledger_id, ledger_date) JOIN ledger_currency c USING (ledger_id)
WHERE t.currency != c.currency
GROUP BY t.ledger_id, t.ledger_date, t.currency;
