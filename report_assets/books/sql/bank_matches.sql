-- Each payout matched to its line on the bank statement, or said not arrived with its age in business days;
-- and each bank line that looks like a Vipps MobilePay payout but matches none. A match needs the payout
-- number in the bank text, the ledger's payout account, a credit within {window_days} days of the payout's
-- ledger date, and (for status 'matched') the same amount. A line booked within {history_margin_days} days of
-- the first stored ledger date may belong to a payout from before it, and one booked after the last stored
-- ledger date to a payout not stored yet: such lines are not judged.
WITH scheduled AS (
    SELECT p.ledger_id, p.payout_number, p.ledger_date AS scheduled_on, p.amount, p.currency, a.bank_account
    FROM payouts p LEFT JOIN ledger_accounts a USING (ledger_id)
), aborted AS (
    SELECT DISTINCT ledger_id, TRY_CAST(split_part(psp_reference, '-', -1) AS BIGINT) AS payout_number
    FROM funds_ledger WHERE entry_type = 'payout-aborted'
), history AS (
    SELECT ledger_id, min(ledger_date) AS first_stored, max(ledger_date) AS last_stored FROM ledger_day_status
    GROUP BY ledger_id
), lines AS (
    -- a bank line belongs to the ledgers paying out to its account; where several share one, the Vipps
    -- number in the text (the sales unit) says whose it is
    SELECT b.*, a.ledger_id,
        TRY_CAST(regexp_extract(b.text, '(?i)utb\.?\s*([0-9]+)', 1) AS BIGINT) AS text_payout_number,
        regexp_matches(b.text, '(?i)(vipps|mobilepay|^\s*utb\.?\s*[0-9])') AS looks_like_payout
    FROM bank_lines b JOIN ledger_accounts a USING (bank_account)
    WHERE regexp_extract(b.text, '(?i)vippsnr\.?\s*([0-9]+)', 1) = ''
        OR list_contains(a.serials, regexp_extract(b.text, '(?i)vippsnr\.?\s*([0-9]+)', 1))
), statements AS (
    -- how far the bank statements of each payout account go: a payout after that cannot be judged yet
    SELECT bank_account, max(booking_date) AS statement_through FROM bank_lines GROUP BY ALL
), candidates AS (
    SELECT s.ledger_id, s.payout_number, l.booking_date, l.amount AS bank_amount, l.text AS bank_text,
        l.bank_reference, l.statement_file, l.entry_index,
        row_number() OVER (PARTITION BY s.ledger_id, s.payout_number
                           ORDER BY l.amount = s.amount DESC, l.booking_date, l.statement_file, l.entry_index) AS pick
    FROM scheduled s JOIN lines l
        ON l.ledger_id = s.ledger_id AND l.text_payout_number = s.payout_number AND l.amount > 0
        AND l.booking_date BETWEEN s.scheduled_on AND s.scheduled_on + {window_days}
), matched AS (
    SELECT * FROM candidates WHERE pick = 1
), calendar AS (
    SELECT CAST(d AS DATE) AS day, sum(CASE WHEN isodow(d) < 6 THEN 1 ELSE 0 END) OVER (ORDER BY d) AS business_day
    FROM generate_series(
        (SELECT coalesce(min(scheduled_on), CAST($today AS DATE)) FROM scheduled) - 7,
        greatest(CAST($today AS DATE), (SELECT coalesce(max(booking_date), CAST($today AS DATE)) FROM lines)),
        INTERVAL 1 DAY) t(d)
), payout_rows AS (
    SELECT s.ledger_id, s.currency, s.payout_number, s.scheduled_on, s.amount AS payout_amount, s.bank_account,
        m.booking_date, m.bank_amount, m.bank_text, m.bank_reference, m.statement_file,
        CASE WHEN ab.payout_number IS NOT NULL THEN 'aborted'
             WHEN m.booking_date IS NULL AND (st.statement_through IS NULL OR st.statement_through <= s.scheduled_on)
                 THEN 'no_statement_yet'
             WHEN m.booking_date IS NULL THEN 'not_arrived'
             WHEN m.bank_amount = s.amount THEN 'matched'
             ELSE 'amount_mismatch' END AS status,
        CASE WHEN m.booking_date IS NOT NULL THEN booked.business_day - sent.business_day END AS business_days_to_arrive,
        CASE WHEN m.booking_date IS NULL AND ab.payout_number IS NULL THEN today.business_day - sent.business_day
        END AS business_days_open
    FROM scheduled s
    LEFT JOIN matched m ON m.ledger_id = s.ledger_id AND m.payout_number = s.payout_number
    LEFT JOIN aborted ab ON ab.ledger_id = s.ledger_id AND ab.payout_number = s.payout_number
    LEFT JOIN statements st ON st.bank_account = s.bank_account
    LEFT JOIN calendar sent ON sent.day = s.scheduled_on
    LEFT JOIN calendar booked ON booked.day = m.booking_date
    LEFT JOIN calendar today ON today.day = CAST($today AS DATE)
), stray_rows AS (
    SELECT l.ledger_id, l.currency, l.text_payout_number AS payout_number, NULL::DATE AS scheduled_on,
        NULL::BIGINT AS payout_amount, l.bank_account, l.booking_date, l.amount AS bank_amount, l.text AS bank_text,
        l.bank_reference, l.statement_file, 'unmatched_bank_line' AS status,
        NULL::BIGINT AS business_days_to_arrive, NULL::BIGINT AS business_days_open
    FROM lines l JOIN history h USING (ledger_id)
    WHERE l.looks_like_payout AND l.booking_date > h.first_stored + {history_margin_days}
        AND l.booking_date <= h.last_stored
        AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.statement_file = l.statement_file
                        AND m.entry_index = l.entry_index)
    QUALIFY row_number() OVER (PARTITION BY l.statement_file, l.entry_index ORDER BY l.ledger_id) = 1
)
SELECT * FROM payout_rows
UNION ALL
SELECT * FROM stray_rows
ORDER BY ledger_id, coalesce(scheduled_on, booking_date), payout_number;
