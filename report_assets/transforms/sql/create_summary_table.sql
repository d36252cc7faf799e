-- A summary table takes the columns its SQL file computes.
CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM summary_rows LIMIT 0;
