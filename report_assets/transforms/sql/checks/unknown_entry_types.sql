-- WARN: entry types NOTES.md does not list; booked by amount in the summaries, and reported here.
SELECT ledger_id, ledger_date, '{topic}: ' || count(*) || ' x ' || entry_type || ' totalling ' || money(sum(amount), any_value(currency))
    AS detail
FROM {table} JOIN slice_keys USING (ledger_id, ledger_date)
WHERE entry_type NOT IN ({known_types})
GROUP BY ledger_id, ledger_date, entry_type;
