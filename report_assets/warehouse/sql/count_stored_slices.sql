-- How many of the registered slice_keys (ledger_id, ledger_date) are stored already, in either topic.
SELECT count(*) FROM ledger_day_status JOIN slice_keys USING (ledger_id, ledger_date);
