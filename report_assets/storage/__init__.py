"""Where ledger data lands: the Parquet lake and the DuckDB warehouse, both replaced per ledger-day."""
