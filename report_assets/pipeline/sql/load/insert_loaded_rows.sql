INSERT INTO {table} BY NAME SELECT * FROM loaded_rows;
