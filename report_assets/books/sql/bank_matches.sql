-- Each payout matched to its line on the bank statement, or said not arrived with its age in bank days;
-- and each bank line that looks like a Vipps MobilePay payout but matches none. A match needs the payout
-- number in the bank text, the ledger's payout account (both sides as one account key: the IBAN, however
-- each wrote it), a credit within {window_days} days of the payout's ledger date, and (for status 'matched')
-- the same amount. A matched credit the bank later reversed makes the payout 'reversed'. Ages count the bank
-- days of the account's country (table bank_days: country, day, bank days up to it).
-- A bank line is judged only where the ledger dates whose payouts could land on it (the {history_margin_days}
-- days before it) are all stored: one in a gap of the stored history is 'not_judged' (the caller reports the
-- gap once, and keeps such rows out of the table), one before the first stored date or after the last is left
-- out.
WITH scheduled AS (
    SELECT p.ledger_id, p.payout_number, p.ledger_date AS scheduled_on, p.amount, p.currency, a.bank_account,
        a.account_key, a.country
    FROM payouts p LEFT JOIN ledger_accounts a USING (ledger_id)
), aborted AS (
    SELECT DISTINCT ledger_id, TRY_CAST(split_part(psp_reference, '-', -1) AS BIGINT) AS payout_number
    FROM funds_ledger WHERE entry_type = 'payout-aborted'
), stored AS (
    SELECT DISTINCT ledger_id, ledger_date FROM ledger_day_status
), history AS (
    SELECT ledger_id, min(ledger_date) AS first_stored, max(ledger_date) AS last_stored FROM stored GROUP BY ALL
), lines AS (
    -- a bank line belongs to the ledgers paying out to its account; where several share one, the Vipps
    -- number in the text (the sales unit) says whose it is
    SELECT b.*, a.ledger_id,
        TRY_CAST(regexp_extract(b.text, '(?i)utb\.?\s*([0-9]+)', 1) AS BIGINT) AS text_payout_number,
        regexp_matches(b.text, '(?i)(vipps|mobilepay|^\s*utb\.?\s*[0-9])') AS looks_like_payout
    FROM bank_lines b JOIN ledger_accounts a USING (account_key)
    WHERE regexp_extract(b.text, '(?i)vippsnr\.?\s*([0-9]+)', 1) = ''
        OR list_contains(a.serials, regexp_extract(b.text, '(?i)vippsnr\.?\s*([0-9]+)', 1))
), statements AS (
    -- how far the bank statements of each payout account go: a payout after that cannot be judged yet
    SELECT account_key, max(booking_date) AS statement_through FROM bank_lines GROUP BY ALL
), candidates AS (
    SELECT s.ledger_id, s.payout_number, l.booking_date, l.amount AS bank_amount, l.text AS bank_text,
        l.bank_reference, l.statement_file, l.line_id,
        row_number() OVER (PARTITION BY s.ledger_id, s.payout_number
                           ORDER BY l.amount = s.amount DESC, l.booking_date, l.statement_file, l.entry_index) AS pick
    FROM scheduled s JOIN lines l
        ON l.ledger_id = s.ledger_id AND l.text_payout_number = s.payout_number AND l.amount > 0 AND NOT l.reversal
        AND l.booking_date BETWEEN s.scheduled_on AND s.scheduled_on + {window_days}
), matched AS (
    SELECT * FROM candidates WHERE pick = 1
), reversed AS (
    -- the bank took a matched credit back: a reversal of the same amount naming the same payout, on or after it
    SELECT DISTINCT m.ledger_id, m.payout_number, l.line_id
    FROM matched m JOIN lines l
        ON l.ledger_id = m.ledger_id AND l.reversal AND l.amount = -m.bank_amount
        AND l.text_payout_number = m.payout_number AND l.booking_date >= m.booking_date
), unreadable AS (
    -- statements set aside as unreadable: a payout of their account in their period (or any, when the file does
    -- not show it) may be on them
    SELECT DISTINCT a.ledger_id, u.period_from, u.period_to
    FROM unreadable_statements u JOIN ledger_accounts a USING (account_key)
), payout_rows AS (
    SELECT s.ledger_id, s.currency, s.payout_number, s.scheduled_on, s.amount AS payout_amount, s.bank_account,
        m.booking_date, m.bank_amount, m.bank_text, m.bank_reference, m.statement_file,
        CASE WHEN ab.payout_number IS NOT NULL THEN 'aborted'
             WHEN m.booking_date IS NOT NULL AND rv.payout_number IS NOT NULL THEN 'reversed'
             WHEN m.booking_date IS NULL AND EXISTS (
                 SELECT 1 FROM unreadable u WHERE u.ledger_id = s.ledger_id
                     AND s.scheduled_on + {window_days} >= coalesce(u.period_from, s.scheduled_on)
                     AND s.scheduled_on <= coalesce(u.period_to, s.scheduled_on)) THEN 'statement_unreadable'
             WHEN m.booking_date IS NULL AND (st.statement_through IS NULL OR st.statement_through <= s.scheduled_on)
                 THEN 'no_statement_yet'
             WHEN m.booking_date IS NULL THEN 'not_arrived'
             WHEN m.bank_amount = s.amount THEN 'matched'
             ELSE 'amount_mismatch' END AS status,
        CASE WHEN m.booking_date IS NOT NULL THEN booked.bank_day - sent.bank_day END AS bank_days_to_arrive,
        CASE WHEN m.booking_date IS NULL AND ab.payout_number IS NULL THEN today.bank_day - sent.bank_day
        END AS bank_days_open
    FROM scheduled s
    LEFT JOIN matched m ON m.ledger_id = s.ledger_id AND m.payout_number = s.payout_number
    LEFT JOIN (SELECT DISTINCT ledger_id, payout_number FROM reversed) rv
        ON rv.ledger_id = s.ledger_id AND rv.payout_number = s.payout_number
    LEFT JOIN aborted ab ON ab.ledger_id = s.ledger_id AND ab.payout_number = s.payout_number
    LEFT JOIN statements st ON st.account_key = s.account_key
    LEFT JOIN bank_days sent ON sent.country = s.country AND sent.day = s.scheduled_on
    LEFT JOIN bank_days booked ON booked.country = s.country AND booked.day = m.booking_date
    LEFT JOIN bank_days today ON today.country = s.country AND today.day = CAST($today AS DATE)
), stray_rows AS (
    SELECT l.ledger_id, l.currency, l.text_payout_number AS payout_number, NULL::DATE AS scheduled_on,
        NULL::BIGINT AS payout_amount, l.bank_account, l.booking_date, l.amount AS bank_amount, l.text AS bank_text,
        l.bank_reference, l.statement_file,
        CASE WHEN (SELECT count(*) FROM stored d WHERE d.ledger_id = l.ledger_id
                   AND d.ledger_date BETWEEN l.booking_date - {history_margin_days} AND l.booking_date - 1)
                  = {history_margin_days} THEN 'unmatched_bank_line' ELSE 'not_judged' END AS status,
        NULL::BIGINT AS bank_days_to_arrive, NULL::BIGINT AS bank_days_open
    FROM lines l JOIN history h USING (ledger_id)
    WHERE l.looks_like_payout AND l.amount > 0 AND l.booking_date > h.first_stored + {history_margin_days}
        AND l.booking_date <= h.last_stored
        AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.line_id = l.line_id)
        AND NOT EXISTS (SELECT 1 FROM reversed r WHERE r.line_id = l.line_id)
    QUALIFY row_number() OVER (PARTITION BY l.line_id ORDER BY l.ledger_id) = 1
)
SELECT * FROM payout_rows
UNION ALL
SELECT * FROM stray_rows
ORDER BY ledger_id, coalesce(scheduled_on, booking_date), payout_number;
