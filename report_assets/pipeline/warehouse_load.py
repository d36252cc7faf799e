"""Loading the warehouse from the lake: the warehouse step of a deployment whose runs execute on many machines.

A DuckDB file has one writer, on the machine that holds it. When runs execute on other machines (Kubernetes
pods, each with its own disk), each run writes the lake in the object store and its own scratch warehouse
on its own disk (which holds the run's checks and summaries, and is thrown away with the pod); the one
warehouse that analysts and the books read is loaded from the lake by this step alone, on its machine,
serialized by the ``report_assets_warehouse`` pool when it runs under Dagster. No two machines ever write the
same DuckDB file.

It lists the lake's files of every ledger and summary table, and loads only those whose version (ETag) is not
the one it loaded before: each file holds every ledger of its date, so it replaces that date's rows in its
table. A batch of files, their ledger-day status and the record of what was loaded commit in one
transaction: a crash leaves the previous load whole, and loading again picks up where it stopped.

A run's summaries saw only that run's dates (its scratch warehouse held nothing else), so those reaching
across the edge of its range (a capture's fee on the day before, a payout covering earlier days, the balance
chain from the day before) may be short. Here every date is present: the loader recomputes the checks and
summaries of the ledger-days it loaded, with their neighbours, exactly as a run on one machine does, and
writes the summaries back to the lake.

``python -m report_assets.load_warehouse`` (``make load-warehouse``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from report_assets.core.sql_files import sql_in
from report_assets.lake.data_dir import DataDir
from report_assets.lake.parquet_lake import ParquetLake, key_date
from report_assets.lake.schema import TABLE_OF_TOPIC
from report_assets.lake.store import LakeStoreError
from report_assets.pipeline.ingestion import check_and_summarize, write_summary_files
from report_assets.transforms.summaries import SUMMARY_TABLES, Rules
from report_assets.warehouse.database import (
    catalog_view,
    ensure_ledger_table,
    ensure_status_table,
    open_for_write,
    registered,
    transaction,
)

sql = sql_in(__file__)

FILES_PER_TRANSACTION = 200
LEDGER_DAYS_PER_SUMMARY_BATCH = 2000  # as a run's warehouse batch: bounded memory on a partner's lake


@dataclass
class LoadOutcome:
    loaded: dict[str, list[str]] = field(default_factory=dict)  # table -> ledger dates loaded
    unchanged: int = 0
    rows: int = 0
    summarized: int = 0  # ledger-days whose checks and summaries were recomputed
    failures: dict[str, list[str]] = field(default_factory=dict)  # check -> what it found, a line per ledger-day


def changed_files(connection: duckdb.DuckDBPyConnection, lake: ParquetLake) -> tuple[list[tuple[str, str]], int]:
    """(dataset, key) of every lake file whose version the warehouse does not hold, in date order; and how many
    files the lake holds."""
    loaded = dict(connection.sql("SELECT lake_key, version FROM lake_files_loaded").fetchall())
    found = [(dataset, key, version) for dataset in (*TABLE_OF_TOPIC, *SUMMARY_TABLES)
             for key, version in lake.store.versions(f"{dataset}/ledger_date=").items()]
    return [(dataset, key) for dataset, key, version in found if loaded.get(key) != version], len(found)


def load_file(connection: duckdb.DuckDBPyConnection, lake: ParquetLake, dataset: str,
              key: str) -> tuple[str, pa.Table]:
    """One date's file into its table, replacing the date; returns the version loaded and its rows."""
    read = lake.store.read_versioned(key)
    if read is None:
        raise LakeStoreError(f"{lake.store.uri(key)} was listed but is gone; the lake never deletes a date's file, "
                             "so check what removed it, then load again: nothing of this batch was loaded.")
    rows, version = read
    table = TABLE_OF_TOPIC.get(dataset, dataset)
    with registered(connection, "loaded_rows", rows):
        if dataset in TABLE_OF_TOPIC:
            ensure_ledger_table(connection, table, include_gdpr="recipient_name" in rows.column_names)
        else:
            connection.execute(sql("load/create_table_like_rows", table=table))
        connection.execute(sql("load/delete_date", table=table), {"ledger_date": key_date(key)})
        connection.execute(sql("load/insert_loaded_rows", table=table))
        if dataset in TABLE_OF_TOPIC:
            connection.execute(sql("load/delete_status_of_date"), {"ledger_date": key_date(key), "topic": dataset})
            connection.execute(sql("load/insert_status_of_date"), {"topic": dataset})
    return version, rows


def resummarize(connection: duckdb.DuckDBPyConnection, lake: ParquetLake, keys: list[tuple[str, str]],
                rules: Rules, outcome: LoadOutcome, say: Callable[[str], None]) -> None:
    """The checks and summaries of the loaded ledger-days (``keys`` in date order), with every neighbour present,
    into the warehouse and back to the lake, a bounded batch of whole dates at a time."""
    start, written = 0, set()
    while start < len(keys):
        end = min(start + LEDGER_DAYS_PER_SUMMARY_BATCH, len(keys))
        while end < len(keys) and keys[end][1] == keys[end - 1][1]:
            end += 1  # whole dates: a date's summary files are written once per batch
        checked = check_and_summarize(connection, keys[start:end], True, rules)
        written |= set(write_summary_files(lake, checked))
        for check, found in checked.failures.items():
            if found:
                outcome.failures.setdefault(f"{check.asset}.{check.name} ({'ERROR' if check.blocking else 'WARN'})",
                                            []).extend(map(str, found))
        outcome.summarized += end - start
        say(f"recomputed the checks and summaries of {end} of {len(keys)} loaded ledger-days")
        start = end
    # The summary files written here are what the warehouse holds: the next load leaves them alone. (A run that
    # rewrites one later has rewritten its date's ledger file first, which brings the date back here.)
    listed = {key: version for table in {table for table, _ in written}
              for key, version in lake.store.versions(f"{table}/ledger_date=").items()}
    record_loaded(connection, [(key, listed[key]) for key in (ParquetLake.date_key(t, d) for t, d in sorted(written))
                               if key in listed])


def record_loaded(connection: duckdb.DuckDBPyConnection, versions: list[tuple[str, str]]) -> None:
    with registered(connection, "loaded_files", pa.table({"lake_key": pa.array([k for k, _ in versions], pa.string()),
                                                          "version": pa.array([v for _, v in versions], pa.string())})):
        connection.execute(sql("load/record_loaded"))


def load_warehouse(data: DataDir, rules: Rules, say: Callable[[str], None] = print) -> LoadOutcome:
    """Loads what changed in the lake since the last load into the warehouse at ``data.warehouse``."""
    lake, outcome = data.lake, LoadOutcome()
    with open_for_write(data.warehouse, say=say) as connection:
        connection.execute(sql("load/create_loaded_files"))
        ensure_status_table(connection)
        for table in TABLE_OF_TOPIC.values():
            ensure_ledger_table(connection, table, include_gdpr=False)
        changed, listed = changed_files(connection, lake)
        outcome.unchanged = listed - len(changed)
        ledger_days: set[tuple[str, str]] = set()
        ledger_files: list[tuple[str, str]] = []  # recorded once their summaries are recomputed: a crash before
        for start in range(0, len(changed), FILES_PER_TRANSACTION):  # that loads them (and recomputes) again
            batch = changed[start:start + FILES_PER_TRANSACTION]
            versions = []
            with transaction(connection):
                for dataset, key in batch:
                    version, rows = load_file(connection, lake, dataset, key)
                    outcome.rows += rows.num_rows
                    if dataset in TABLE_OF_TOPIC:
                        ledger_files.append((key, version))
                        ledgers = set(rows.column("ledger_id").to_pylist())
                        ledger_days.update((ledger_id, key_date(key)) for ledger_id in ledgers)
                    else:
                        versions.append((key, version))
                    outcome.loaded.setdefault(TABLE_OF_TOPIC.get(dataset, dataset), []).append(key_date(key))
                record_loaded(connection, versions)
            say(f"loaded {start + len(batch)} of {len(changed)} changed lake files")
        resummarize(connection, lake, sorted(ledger_days, key=lambda k: (k[1], k[0])), rules, outcome, say)
        record_loaded(connection, ledger_files)
        catalog_view(connection, lake)
    return outcome
