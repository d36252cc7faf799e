"""The warehouse: the DuckDB database an analyst queries (the ledger tables, their status, views over the lake)
and its single writer's lock. May import ``lake`` and below."""
