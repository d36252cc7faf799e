"""The lake: where every ledger-day lands first and is kept as the API served it. Parquet files per table and
ledger date (in a directory or an object store), the ledger-day status, the ledger catalog, the column
definitions of every table, and the data directory that holds it all with its claim (which source and world
filled it). May import ``core`` and ``report_api`` (for the entry schema and the ledger list)."""
