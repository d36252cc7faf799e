-- One row per ledger-day and topic that a run tried: what is stored (closed, open, or nothing yet) and the
-- last error. Read by the schedule and by each run to know what is due, without the warehouse's lock.
CREATE TABLE IF NOT EXISTS ledger_day_state (
    ledger_id TEXT NOT NULL,
    ledger_date TEXT NOT NULL,
    topic TEXT NOT NULL,
    stored TEXT CHECK (stored IN ('closed', 'open')),
    entries INTEGER,
    fetched_at TEXT,
    error TEXT,
    failed_at TEXT,
    PRIMARY KEY (ledger_date, ledger_id, topic)
) WITHOUT ROWID;
