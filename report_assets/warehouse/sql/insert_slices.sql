INSERT INTO {table} BY NAME SELECT * FROM slice_rows;
