-- A payout's arrival on the bank statement: its own small journal on the bank's booking date, debiting
-- the bank and crediting payouts in transit. Only payouts matched to the amount are booked; a mismatch
-- is for a person to look at (the check says which).
WITH arrivals AS (
    SELECT * FROM bank_matches WHERE status = 'matched'
), sides AS (
    SELECT *, 'bank' AS account_role, bank_amount AS signed, 1 AS line FROM arrivals
    UNION ALL
    SELECT *, 'payouts_in_transit' AS account_role, -bank_amount AS signed, 2 AS line FROM arrivals
)
SELECT
    s.ledger_id,
    s.booking_date AS ledger_date,
    s.ledger_id || '-' || strftime(s.booking_date, '%Y-%m-%d') || '-bank-' || s.payout_number AS journal_id,
    s.line,
    coalesce(own.account, shared.account) AS account,
    s.account_role,
    greatest(s.signed, 0) AS debit,
    greatest(-s.signed, 0) AS credit,
    s.currency,
    'bank-statement' AS entry_type,
    s.bank_text AS text,
    s.payout_number,
    true AS is_final
FROM sides s
LEFT JOIN account_map own ON own.ledger_id = s.ledger_id AND own.role = s.account_role
LEFT JOIN account_map shared ON shared.ledger_id = '' AND shared.role = s.account_role
ORDER BY s.ledger_id, s.booking_date, s.payout_number, s.line;
