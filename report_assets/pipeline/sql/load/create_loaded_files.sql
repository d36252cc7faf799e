-- Which lake file, at which version, the warehouse holds: what the next load can leave alone.
CREATE TABLE IF NOT EXISTS lake_files_loaded (
    lake_key VARCHAR PRIMARY KEY,
    version VARCHAR NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);
