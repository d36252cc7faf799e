-- A view over the Parquet lake: analysts query it without any lock on the warehouse.
CREATE OR REPLACE VIEW {table} AS
SELECT *{major_columns} FROM read_parquet({glob}, union_by_name = true, hive_partitioning = false);
