-- Entries read from the feed endpoint, for "today so far", and where each ledger's feed has got to.
-- position is the entry's place within its ledger-day, as on the dates endpoint (same entries, same order).
CREATE TABLE IF NOT EXISTS intraday_entries (
    {columns},
    PRIMARY KEY (ledger_id, topic, ledger_date, position)
);
CREATE TABLE IF NOT EXISTS feed_cursors (
    ledger_id VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    cursor VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ledger_id, topic)
);
