INSERT INTO {table} BY NAME SELECT * FROM summary_rows;
