-- ERROR: a ledger-day whose entries are in another currency than the rest of the ledger (as first stored: the
-- first entry of its first stored day). The first day is found first, then only its entries are read.
WITH first_day AS (
    SELECT ledger_id, min(ledger_date) AS ledger_date
    FROM {table} WHERE ledger_id IN (SELECT ledger_id FROM slice_keys)
    GROUP BY ledger_id
), ledger_currency AS (
    SELECT ledger_id, arg_min(currency, position) AS currency
    FROM {table} JOIN first_day USING (ledger_id, ledger_date)
    GROUP BY ledger_id
)
SELECT t.ledger_id, t.ledger_date, '{topic}: ' || count(*) || ' entries in ' || t.currency
    || ', the ledger is in ' || any_value(c.currency) AS detail
FROM {table} t JOIN slice_keys USING (ledger_id, ledger_date) JOIN ledger_currency c USING (ledger_id)
WHERE t.currency != c.currency
GROUP BY t.ledger_id, t.ledger_date, t.currency;
