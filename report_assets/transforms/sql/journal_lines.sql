-- One balanced journal per ledger-day in slice_keys: the day's entries of both ledgers, aggregated by
-- type, sign and payout. Each group posts its amount to its ledger's clearing account (debit when positive)
-- and the opposite to the role its type is booked against (booking_rules); fees-retained has no counter
-- line, as its two entries (funds and fees) are each other's. A type without a rule goes to suspense.
WITH entries AS (
    SELECT 'funds' AS topic, ledger_id, ledger_date, currency, entry_type, psp_reference, amount
    FROM funds_ledger JOIN slice_keys USING (ledger_id, ledger_date)
    UNION ALL
    SELECT 'fees' AS topic, ledger_id, ledger_date, currency, entry_type, psp_reference, amount
    FROM fees_ledger JOIN slice_keys USING (ledger_id, ledger_date)
), groups AS (
    SELECT topic, ledger_id, ledger_date, entry_type, sign(amount) AS direction,
        CASE WHEN topic = 'funds' AND entry_type IN ({payout_types}, 'payout-aborted')
            THEN TRY_CAST(split_part(psp_reference, '-', -1) AS BIGINT) END AS payout_number,
        any_value(currency) AS currency, sum(amount) AS amount, count(*) AS entries
    FROM entries GROUP BY ALL
), ruled AS (
    SELECT g.*, coalesce(r.rule_order, 1000) AS rule_order,
        CASE WHEN r.entry_type IS NULL THEN 'suspense' ELSE r.counter_role END AS counter_role
    FROM groups g LEFT JOIN booking_rules r USING (topic, entry_type)
    WHERE g.amount != 0
), sides AS (
    SELECT *, topic || '_clearing' AS account_role, amount AS signed, 0 AS side FROM ruled
    UNION ALL
    SELECT *, counter_role AS account_role, -amount AS signed, 1 AS side FROM ruled WHERE counter_role IS NOT NULL
), status AS (
    SELECT ledger_id, ledger_date, count(*) = 2 AND NOT bool_or(is_open) AS both_closed
    FROM ledger_day_status JOIN slice_keys USING (ledger_id, ledger_date)
    GROUP BY ledger_id, ledger_date
)
SELECT
    s.ledger_id,
    s.ledger_date,
    s.ledger_id || '-' || strftime(s.ledger_date, '%Y-%m-%d') AS journal_id,
    row_number() OVER (PARTITION BY s.ledger_id, s.ledger_date
                       ORDER BY s.topic DESC, s.rule_order, s.entry_type, s.direction DESC, s.payout_number, s.side)
        AS line,
    coalesce(own.account, shared.account) AS account,
    s.account_role,
    greatest(s.signed, 0) AS debit,
    greatest(-s.signed, 0) AS credit,
    s.currency,
    s.entry_type,
    CASE WHEN s.payout_number IS NOT NULL THEN s.entry_type || ' ' || s.payout_number
         ELSE s.entry_type || ', ' || s.entries || CASE WHEN s.entries = 1 THEN ' entry' ELSE ' entries' END
    END || CASE WHEN s.counter_role = 'suspense' THEN ' (unmapped entry type: clear by hand)' ELSE '' END AS text,
    s.payout_number,
    coalesce(st.both_closed, false) AS is_final
FROM sides s
LEFT JOIN account_map own ON own.ledger_id = s.ledger_id AND own.role = s.account_role
LEFT JOIN account_map shared ON shared.ledger_id = '' AND shared.role = s.account_role
LEFT JOIN status st ON st.ledger_id = s.ledger_id AND st.ledger_date = s.ledger_date
ORDER BY s.ledger_id, s.ledger_date, line;
