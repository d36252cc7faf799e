-- ERROR: fees-retained on the funds ledger that the fees ledger does not mirror (same pspReference, opposite amount).
WITH funds_side AS (
    SELECT ledger_id, ledger_date, psp_reference, sum(amount) AS amount, any_value(currency) AS currency FROM funds_ledger
    JOIN slice_keys USING (ledger_id, ledger_date) WHERE entry_type = 'fees-retained'
    GROUP BY ledger_id, ledger_date, psp_reference
), fees_side AS (
    SELECT ledger_id, ledger_date, psp_reference, sum(amount) AS amount, any_value(currency) AS currency FROM fees_ledger
    JOIN slice_keys USING (ledger_id, ledger_date) WHERE entry_type = 'fees-retained'
    GROUP BY ledger_id, ledger_date, psp_reference
), both_fetched AS (
    SELECT ledger_id, ledger_date FROM ledger_day_status JOIN slice_keys USING (ledger_id, ledger_date)
    GROUP BY ledger_id, ledger_date HAVING count(*) = 2
)
SELECT ledger_id, ledger_date, 'fees-retained ' || coalesce(f.psp_reference, e.psp_reference) || ': funds '
    || money(coalesce(f.amount, 0), coalesce(f.currency, e.currency)) || ', fees '
    || money(coalesce(e.amount, 0), coalesce(f.currency, e.currency)) AS detail
FROM funds_side f FULL JOIN fees_side e USING (ledger_id, ledger_date, psp_reference)
JOIN both_fetched USING (ledger_id, ledger_date)
WHERE coalesce(f.amount, 0) != -coalesce(e.amount, 0);
