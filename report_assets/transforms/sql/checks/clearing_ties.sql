-- ERROR: a clearing account whose movement over a ledger-day is not its ledger's: debit minus credit on
-- funds_clearing (fees_clearing) must equal the sum of the day's funds (fees) ledger amounts, so that the
-- account's balance is the ledger's balance at every day end.
WITH ledgers AS (
    SELECT 'funds_clearing' AS account_role, ledger_id, ledger_date, sum(amount) AS ledger_total,
        any_value(currency) AS currency
    FROM funds_ledger JOIN slice_keys USING (ledger_id, ledger_date) GROUP BY ALL
    UNION ALL
    SELECT 'fees_clearing' AS account_role, ledger_id, ledger_date, sum(amount) AS ledger_total,
        any_value(currency) AS currency
    FROM fees_ledger JOIN slice_keys USING (ledger_id, ledger_date) GROUP BY ALL
), booked AS (
    SELECT account_role, ledger_id, ledger_date, sum(debit) - sum(credit) AS booked_total,
        any_value(currency) AS currency
    FROM journal_lines JOIN slice_keys USING (ledger_id, ledger_date)
    WHERE account_role IN ('funds_clearing', 'fees_clearing') GROUP BY ALL
)
SELECT ledger_id, ledger_date, account_role || ' moved ' || money(coalesce(booked_total, 0), coalesce(l.currency, b.currency))
    || ', its ledger ' || money(coalesce(ledger_total, 0), coalesce(l.currency, b.currency)) AS detail
FROM ledgers l FULL JOIN booked b USING (account_role, ledger_id, ledger_date)
WHERE coalesce(booked_total, 0) != coalesce(ledger_total, 0);
