-- Appends a feed page: each entry takes the next position of its ledger-day.
INSERT INTO intraday_entries BY NAME
SELECT p.* EXCLUDE (page_index),
    coalesce((SELECT max(position) FROM intraday_entries i WHERE i.ledger_id = p.ledger_id AND i.topic = p.topic
              AND i.ledger_date = p.ledger_date), 0)
        + row_number() OVER (PARTITION BY p.ledger_date ORDER BY p.page_index) AS position
FROM feed_page p;
