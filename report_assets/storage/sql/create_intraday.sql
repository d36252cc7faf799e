-- Entries read from the feed endpoint, for "today so far", and where each ledger's feed has got to.
-- position is the entry's place within its ledger-day, as on the dates endpoint (same entries, same order).
CREATE TABLE IF NOT EXISTS intraday_entries (
    ledger_id VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    ledger_date DATE NOT NULL,
    position INTEGER NOT NULL,
    psp_reference VARCHAR,
    time TIMESTAMPTZ NOT NULL,
    entry_type VARCHAR NOT NULL,
    reference VARCHAR,
    currency VARCHAR NOT NULL,
    amount BIGINT NOT NULL,
    balance_before BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    recipient_handle VARCHAR,
    fetched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ledger_id, topic, ledger_date, position)
);
CREATE TABLE IF NOT EXISTS feed_cursors (
    ledger_id VARCHAR NOT NULL,
    topic VARCHAR NOT NULL,
    cursor VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ledger_id, topic)
);
