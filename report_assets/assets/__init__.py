"""The project's assets: raw ledgers now, summaries later."""
