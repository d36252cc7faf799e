-- Appends a feed page: each entry takes the next position of its ledger-day.
INSERT INTO intraday_entries
SELECT p.ledger_id, p.topic, p.ledger_date,
    coalesce((SELECT max(position) FROM intraday_entries i WHERE i.ledger_id = p.ledger_id AND i.topic = p.topic
              AND i.ledger_date = p.ledger_date), 0)
        + row_number() OVER (PARTITION BY p.ledger_date ORDER BY p.page_index) AS position,
    p.psp_reference, p.time, p.entry_type, p.reference, p.currency, p.amount, p.balance_before, p.balance_after,
    p.recipient_handle, p.fetched_at
FROM feed_page p;
