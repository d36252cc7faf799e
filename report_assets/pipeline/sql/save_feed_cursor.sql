INSERT OR REPLACE INTO feed_cursors VALUES ($ledger_id, $topic, $cursor, now());
