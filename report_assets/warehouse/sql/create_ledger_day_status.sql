-- One row per fetched ledger-day and topic: whether it was open, and how many entries it had.
-- It tells a closed day with no entries apart from a day never fetched.
CREATE TABLE IF NOT EXISTS ledger_day_status (
    ledger_id VARCHAR NOT NULL,
    ledger_date DATE NOT NULL,
    topic VARCHAR NOT NULL,
    is_open BOOLEAN NOT NULL,
    entries BIGINT NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (ledger_id, ledger_date, topic)
);
