"""The files accountants hand in, each written from one ``month_books.LedgerMonth``: CSV (two dialects), an Excel
workbook, and the Norwegian SAF-T Financial file."""
