-- One row per ledger and calendar month (as YYYY-MM). One sign convention throughout: every movement column is
-- what its entries did to the merchant's balances with Vipps MobilePay (funds plus fees: sales positive, fees,
-- refunds and payouts negative), so that
--     opening_funds + opening_fees + the movements + moved_on_missing_dates = closing_funds + closing_fees.
-- A month may have dates not stored (a gap between backfills, days before the history begins): they are named
-- (missing_dates), the balances are the stored days' (the first stored day's opening, the last one's closing),
-- and what the balances moved across a gap inside the month is moved_on_missing_dates: stated, not guessed.
-- payouts_arrived and in_transit_at_month_end are memo columns, outside that sum.
WITH journal AS (
    SELECT ledger_id, ledger_date, account_role, debit, credit, entry_type, payout_number FROM journal_lines
    UNION ALL
    SELECT ledger_id, ledger_date, account_role, debit, credit, entry_type, payout_number FROM bank_journal_lines
), stored_days AS (
    -- a ledger-day is stored when both ledgers are; closed when both are closed
    SELECT ledger_id, ledger_date, NOT bool_or(is_open) AS closed
    FROM ledger_day_status GROUP BY ALL HAVING count(*) = 2
), months AS (
    SELECT ledger_id, CAST(date_trunc('month', ledger_date) AS DATE) AS first_day, count(*) AS days_stored,
        count(*) FILTER (WHERE closed) AS days_closed,
        string_agg(strftime(ledger_date, '%Y-%m-%d'), ', ' ORDER BY ledger_date) FILTER (WHERE NOT closed)
            AS open_dates
    FROM stored_days GROUP BY ALL
), calendar AS (
    -- the month's dates that have begun (today's included), each stored or not
    SELECT m.ledger_id, m.first_day, CAST(d.day AS DATE) AS ledger_date
    FROM months m, LATERAL generate_series(m.first_day, least(last_day(m.first_day), CAST($today AS DATE)),
                                           INTERVAL 1 DAY) AS d(day)
), missing AS (
    -- runs of consecutive dates not stored, written as 2026-11-01..2026-11-08
    SELECT ledger_id, first_day, min(ledger_date) AS run_from, max(ledger_date) AS run_to
    FROM (SELECT c.*, c.ledger_date - CAST(row_number() OVER (PARTITION BY c.ledger_id ORDER BY c.ledger_date)
                                           AS INTEGER) AS run
          FROM calendar c ANTI JOIN stored_days s USING (ledger_id, ledger_date))
    GROUP BY ledger_id, first_day, run
), missing_text AS (
    SELECT ledger_id, first_day, sum(run_to - run_from + 1) AS days_missing,
        string_agg(CASE WHEN run_from = run_to THEN strftime(run_from, '%Y-%m-%d')
                        ELSE strftime(run_from, '%Y-%m-%d') || '..' || strftime(run_to, '%Y-%m-%d') END,
                   ', ' ORDER BY run_from) AS missing_dates
    FROM missing GROUP BY ALL
), balance_days AS (
    -- each stored day's balance on each ledger (funds, fees; a day without entries on a ledger has none), and what
    -- it moved since the ledger's previous stored day with entries in the month: non-zero only across dates not
    -- stored
    SELECT *, CAST(date_trunc('month', ledger_date) AS DATE) AS first_day,
        opening - lag(closing) OVER (PARTITION BY book, ledger_id, date_trunc('month', ledger_date)
                                     ORDER BY ledger_date) AS gap
    FROM (SELECT 'funds' AS book, ledger_id, ledger_date, currency, opening_balance AS opening,
              closing_balance AS closing FROM daily_payout_summary
          UNION ALL
          SELECT 'fees', ledger_id, ledger_date, currency, opening_fee_balance, closing_fee_balance
          FROM daily_fee_summary)
    WHERE opening IS NOT NULL
), balances AS (
    SELECT ledger_id, first_day, book, any_value(currency) AS currency, arg_min(opening, ledger_date) AS opening,
        arg_max(closing, ledger_date) AS closing, coalesce(sum(gap), 0) AS gap
    FROM balance_days GROUP BY ALL
), movements AS (
    SELECT ledger_id, CAST(date_trunc('month', ledger_date) AS DATE) AS first_day,
        {role_movements},
        coalesce(sum(credit - debit) FILTER (WHERE account_role = 'payouts_in_transit'
                                             AND entry_type IN ({payout_types})), 0) AS payouts_scheduled,
        coalesce(sum(credit - debit) FILTER (WHERE account_role = 'payouts_in_transit'
                                             AND entry_type = 'payout-aborted'), 0) AS payouts_aborted,
        coalesce(sum(debit) FILTER (WHERE account_role = 'bank'), 0) AS payouts_arrived,
        coalesce(sum(debit - credit) FILTER (WHERE account_role = 'payouts_in_transit'), 0) AS in_transit_movement,
        string_agg(DISTINCT CAST(payout_number AS VARCHAR), ', ' ORDER BY CAST(payout_number AS VARCHAR))
            FILTER (WHERE entry_type IN ({payout_types})) AS payout_numbers
    FROM journal GROUP BY ALL
), transit AS (
    -- each payout's stay on payouts_in_transit: from the day it was scheduled to the day it arrived or came back
    SELECT ledger_id, payout_number,
        min(ledger_date) FILTER (WHERE debit > 0) AS sent_on,
        min(ledger_date) FILTER (WHERE credit > 0) AS left_on
    FROM journal WHERE account_role = 'payouts_in_transit' GROUP BY ALL
), rows AS (
    SELECT m.ledger_id, m.first_day, strftime(m.first_day, '%Y-%m') AS month,
        coalesce(f.currency, fe.currency) AS currency, m.days_stored, m.days_closed,
        mt.missing_dates, m.open_dates,
        f.opening AS opening_funds_balance, fe.opening AS opening_fees_balance,
        {role_columns},
        coalesce(mv.payouts_scheduled, 0) AS payouts_scheduled, coalesce(mv.payouts_aborted, 0) AS payouts_aborted,
        coalesce(f.gap, 0) + coalesce(fe.gap, 0) AS moved_on_missing_dates,
        f.closing AS closing_funds_balance, fe.closing AS closing_fees_balance,
        coalesce(mv.payouts_arrived, 0) AS payouts_arrived,
        sum(coalesce(mv.in_transit_movement, 0)) OVER (PARTITION BY m.ledger_id ORDER BY m.first_day)
            AS in_transit_at_month_end,
        mv.payout_numbers,
        mt.missing_dates IS NULL AND m.open_dates IS NULL AND last_day(m.first_day) < CAST($today AS DATE)
            AS is_final
    FROM months m
    LEFT JOIN missing_text mt USING (ledger_id, first_day)
    LEFT JOIN balances f ON f.ledger_id = m.ledger_id AND f.first_day = m.first_day AND f.book = 'funds'
    LEFT JOIN balances fe ON fe.ledger_id = m.ledger_id AND fe.first_day = m.first_day AND fe.book = 'fees'
    LEFT JOIN movements mv USING (ledger_id, first_day)
)
SELECT r.* EXCLUDE (first_day, is_final),
    (SELECT string_agg(CAST(t.payout_number AS VARCHAR), ', ' ORDER BY t.payout_number) FROM transit t
     WHERE t.ledger_id = r.ledger_id AND t.sent_on <= last_day(r.first_day)
        AND (t.left_on IS NULL OR t.left_on > last_day(r.first_day))) AS open_payout_numbers,
    (SELECT min_by(p.payout_number, p.ledger_date) FROM payouts p
     WHERE p.ledger_id = r.ledger_id AND p.ledger_date > last_day(r.first_day)) AS carried_by_payout_number,
    (SELECT min(p.ledger_date) FROM payouts p
     WHERE p.ledger_id = r.ledger_id AND p.ledger_date > last_day(r.first_day)) AS carried_by_payout_date,
    r.is_final,
    CAST($computed_at AS TIMESTAMPTZ) AS computed_at
FROM rows r
ORDER BY r.ledger_id, r.month;
