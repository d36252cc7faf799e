"""The warehouse machine's command: load what changed in the lake into the warehouse (``make load-warehouse``)."""

from __future__ import annotations

import argparse
import sys

from report_assets.lake.store import LakeStoreError
from report_assets.pipeline.warehouse_load import load_warehouse
from report_assets.settings import SettingError, data_dir_of, load_settings, rules_of


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="python -m report_assets.load_warehouse",
                            description="Load what changed in the Parquet lake into the DuckDB warehouse (the "
                                        "warehouse step when runs execute on other machines).").parse_args(argv)
    try:
        settings = load_settings()
        data = data_dir_of(settings)
        outcome = load_warehouse(data, rules_of(settings))
    except (SettingError, LakeStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for table, dates in sorted(outcome.loaded.items()):
        print(f"  {table}: {len(dates)} date(s), {min(dates)} to {max(dates)}")
    print(f"Loaded {sum(map(len, outcome.loaded.values()))} changed lake file(s) ({outcome.rows} rows; "
          f"{outcome.unchanged} unchanged) from {data.lake.location} into {data.warehouse}, and recomputed the "
          f"checks and summaries of {outcome.summarized} ledger-day(s).")
    for check, found in sorted(outcome.failures.items()):
        print(f"  check {check}: {len(found)} ledger-day(s): " + "; ".join(found[:5]) + ("; ..." if found[5:] else ""))


if __name__ == "__main__":
    main()
