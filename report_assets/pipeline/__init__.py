"""Getting ledger-days from the API into the lake and the warehouse: which dates a run fetches (planning), the
fetch and the staged writes with their checks and summaries (ingestion), the child process that does it, the
intraday feed, and the warehouse machine's load of the lake. May import ``books`` and below; knows nothing of
Dagster."""
