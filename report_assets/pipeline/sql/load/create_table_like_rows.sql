-- A summary table takes the columns of its lake files (which its SQL file computed).
CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM loaded_rows LIMIT 0;
