"""The books that span dates: payouts matched to the bank's camt.053 statements, the bank-arrival vouchers,
month-end statements and the files an accountant hands in (CSV, Excel, SAF-T). May import ``transforms`` and
below."""
