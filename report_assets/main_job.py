"""The main job: ``python -m report_assets.main_job`` (``make main``).

Registers the ledgers the keys may read (the simulator's, with no keys set), materializes the last
14 ledger dates of each in one run, as a single-run backfill from the UI would, then says where the
data is and how to open the UI.
"""

from __future__ import annotations

import argparse
import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from report_assets.assets.ledgers import ledger_entries
from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME, ledger_dates
from report_assets.automation.discovery import (
    catalog_materialization,
    describe,
    discover_ledgers,
    new_ledger_partitions,
)
from report_assets.data_dir import PROJECT_ROOT, DataDir
from report_assets.ingestion import TABLE_OF_TOPIC
from report_assets.local_instance import open_local_instance
from report_assets.storage.lake import ParquetLake
from report_assets.storage.summaries import SUMMARY_TABLES
from report_assets.storage.warehouse import write_lake_views


def last_ledger_dates(days: int, today: date | None = None) -> list[str]:
    today = today or datetime.now(ZoneInfo(ledger_dates.timezone)).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def run(days: int) -> None:
    os.chdir(PROJECT_ROOT)  # dagster.yaml here keeps the instance under data/dagster_home
    from report_assets.definitions import defs

    resources = defs.resources
    report_api, data_dir = resources["report_api"], resources["data_dir"]
    data = data_dir.data_dir()
    instance = open_local_instance() or dg.DagsterInstance.ephemeral()
    with instance:
        known = list(instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME))
        update = discover_ledgers(report_api, data, known)  # as the discovery sensor does
        instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, new_ledger_partitions(update, known))
        if update.changed:
            instance.report_runless_asset_event(catalog_materialization(update, data))
        ledgers = [r["ledger_id"] for r in update.records if r["listed"]]
        print("Ledgers: " + "; ".join(describe(r) for r in update.records if r["listed"]), flush=True)
        dates = last_ledger_dates(days)
        print(f"Fetching {len(ledgers)} ledgers x {len(dates)} ledger dates ({dates[0]} .. {dates[-1]}) from the "
              f"{report_api.source} into {data.root}", flush=True)
        result = dg.materialize(
            [ledger_entries],
            instance=instance,
            resources=resources,
            tags={"dagster/asset_partition_range_start": f"{dates[0]}|{ledgers[0]}",
                  "dagster/asset_partition_range_end": f"{dates[-1]}|{ledgers[-1]}"},
            raise_on_error=False,
        )
        run_id = result.run_id
    lake = ParquetLake(data.lake)
    datasets = {table: topic for topic, table in TABLE_OF_TOPIC.items()} | {t: t for t in SUMMARY_TABLES}
    globs = {table: lake.glob(dataset) for table, dataset in datasets.items()}
    write_lake_views(data.lake_views, globs | {"ledgers": str(data.ledger_catalog)})
    print_summary(data, result.success, run_id)
    if not result.success:
        raise SystemExit(1)


SUMMARY_PREVIEW = {
    "daily_fee_summary": "ledger_id, ledger_date, currency, captured_amount, capture_fees, service_fees, "
                         "round(effective_fee_rate, 4) AS fee_rate, fees_retained, fees_invoiced, is_final",
    "daily_payout_summary": "ledger_id, ledger_date, opening_balance, captured_amount, refunded_amount, "
                            "fees_retained, payout_amount, payout_number, unpaid_balance_carried, is_final",
    "payouts": "ledger_id, payout_number, covers_from, covers_to, amount, captured_amount, refunded_amount, "
               "fees_retained, capture_fees_matched, is_final",
}


def print_summary(data: DataDir, success: bool, run_id: str) -> None:
    print()
    print(f"Run {run_id}: {'succeeded' if success else 'FAILED (see the run in the UI)'}")
    if data.warehouse.exists():
        with duckdb.connect(str(data.warehouse), read_only=True) as connection:
            for table in TABLE_OF_TOPIC.values():
                print(f"\n{table}: rows per ledger (open = ledger dates still open when fetched)")
                connection.sql(
                    f"SELECT ledger_id, any_value(currency) AS currency, count(DISTINCT ledger_date) AS ledger_dates, "
                    f"count(*) AS entries, sum(amount) AS net_amount_minor_units, "
                    f"count(DISTINCT ledger_date) FILTER (WHERE is_open) AS open_dates "
                    f"FROM {table} GROUP BY ledger_id ORDER BY ledger_id"
                ).show()
            for table, columns in SUMMARY_PREVIEW.items():
                print(f"\n{table}: the last rows (amounts in minor units)")
                connection.sql(f"SELECT {columns} FROM {table} ORDER BY ledger_date DESC, ledger_id LIMIT 6").show()
    print(f"""Where the data is:
  Parquet lake     {data.lake}/{{funds,fees}}/ledger_id=.../ledger_date=.../part-0.parquet
  DuckDB warehouse {data.warehouse}
                   (tables funds_ledger, fees_ledger, daily_fee_summary, daily_payout_summary, payouts;
                   view ledgers: each ledger's currency, time zone, owner, and whether access is granted)
  Lake views       {data.lake_views}   (same tables as views over Parquet; holds no lock on the warehouse)

Query it (no lock on the warehouse):
  .venv/bin/python -c "import duckdb; duckdb.connect('{data.lake_views}').sql(
    'SELECT entry_type, count(*), sum(amount) FROM funds_ledger GROUP BY 1').show()"
Open the UI: make ui   (runs `dagster dev` here), then browse http://127.0.0.1:3000 -> Assets""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14, help="how many ledger dates, ending today")
    run(parser.parse_args().days)


if __name__ == "__main__":
    main()
