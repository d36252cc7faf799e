INSERT OR REPLACE INTO lake_files_loaded SELECT lake_key, version, now() FROM loaded_files;
