-- The join condition that finds a capture's (c) capture fee (f) on the fees ledger: same ledger and
-- pspReference, on the capture's date or one of the next {fee_lag_days}. Fees are processed apart from
-- funds, so never match on date alone; bounding the dates lets DuckDB skip the rest of the table.
f.ledger_id = c.ledger_id AND f.psp_reference = c.psp_reference AND f.entry_type = 'capture-fee'
AND f.ledger_date BETWEEN c.ledger_date AND c.ledger_date + {fee_lag_days}
