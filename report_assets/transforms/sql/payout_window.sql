-- The day before the earliest payout period that the payouts of slice_keys can cover: each slice ledger's
-- last payout before the slice's first date (or the beginning of time when it has none stored).
SELECT coalesce(min(previous), DATE '0001-01-01') FROM (
    SELECT k.ledger_id, max(f.ledger_date) AS previous
    FROM (SELECT DISTINCT ledger_id FROM slice_keys) k
    LEFT JOIN funds_ledger f ON f.ledger_id = k.ledger_id AND f.entry_type IN ({payout_types})
        AND f.ledger_date < $first
    GROUP BY k.ledger_id
);
