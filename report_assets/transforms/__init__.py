"""What is computed from the stored ledger-days, per ledger-day: the daily summaries, payouts, the journal lines
with their account map, and the checks of the raw data and of all of these. Runs in a warehouse connection;
may import ``warehouse`` and below."""
