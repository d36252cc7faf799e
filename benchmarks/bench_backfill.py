"""A year-long backfill through Dagster on the simulator, against the bare client in the same invocation.

For each size (30 and 365 ledger dates x 10 ledgers, about 1,000 captures a weekday), runs, for
the two ledgers alone and then for everything (with the summaries, payouts and checks),
``dagster asset materialize --partition-range`` (the single run that a UI backfill of these assets
launches, thanks to BackfillPolicy.single_run) in a fresh DAGSTER_HOME and data directory, against a
simulator process over loopback. Prints entries per second, wall time, runs launched, peak memory
of the run's processes, and the ratio to the bare client rate (bench_client.py's measurement, taken
here in the same invocation).

    python benchmarks/bench_backfill.py [--days 30 365] [--ledgers 10]

Dagster records one materialization event per ledger-day and asset; with SQLite instance storage
each costs a few milliseconds whatever the asset does. The benchmark measures that cost alone and
prints the ratio it leaves room for even if fetching and storing were free (Dagster's floor).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.instance.ref import InstanceRef

sys.path.insert(0, str(Path(__file__).parent))
from bench_client import client_run

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME
from report_assets.simulator.server import SimulatorProcess
from report_assets.simulator.world import default_ledgers

LAST_DAY = date(2026, 11, 24)
INSTANCE_YAML = "telemetry:\n  enabled: false\n"


def event_cost_ms(events: int = 300) -> float:
    """What one partition materialization event costs the instance storage, measured alone."""
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text(INSTANCE_YAML)
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(home)) as instance:
            started = time.perf_counter()
            for n in range(events):
                instance.report_runless_asset_event(dg.AssetMaterialization(
                    "event_cost_probe", partition=f"p{n}", metadata={"dagster/row_count": n, "is_open": False}))
            return (time.perf_counter() - started) / events * 1000


def backfill(days: int, ledgers: int, select: str) -> dict[str, float]:
    ids = sorted(spec.ledger_id for spec in default_ledgers(ledgers))
    first = LAST_DAY - timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as scratch, \
            SimulatorProcess.start(["--ledgers", str(ledgers)]) as sim:
        home = Path(scratch) / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(INSTANCE_YAML)
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, ids)
        data = Path(scratch) / "data"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("REPORT_API_")},
               "DAGSTER_HOME": str(home), "REPORT_ASSETS_DATA_DIR": str(data), "REPORT_API_BASE_URL": sim.base_url}
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "report_assets.definitions",
             "--select", select, "--partition-range", f"{first}|{ids[0]}...{LAST_DAY}|{ids[-1]}"],
            env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            raise SystemExit(completed.stdout[-3000:] + completed.stderr[-3000:])
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            runs = len(instance.get_runs())
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
            entries = sum(connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                          for t in ("funds_ledger", "fees_ledger"))
    return {"days": days, "entries": entries, "wall": wall, "rate": entries / wall, "runs": runs,
            "peak_mib": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--ledgers", type=int, default=10)
    args = parser.parse_args()
    client_days = [date(2026, 10, 31) - timedelta(days=i) for i in range(30)][::-1]
    baseline = client_run(args.ledgers, client_days, workers=8)
    print(f"bare client (10 ledgers x 30 days, same invocation): {baseline['rate']:,.0f} entries/s")
    cost = event_cost_ms()
    print(f"one materialization event alone (SQLite instance storage): {cost:.2f} ms")
    for days in args.days:
        result = backfill(days, args.ledgers, "funds_ledger,fees_ledger")
        floor = days * args.ledgers * 2 * cost / 1000
        best = result["entries"] / (result["entries"] / baseline["rate"] + floor) / baseline["rate"]
        print(f"backfill {args.ledgers} ledgers x {days} days through Dagster: {result['entries']:,} entries in "
              f"{result['wall']:.1f} s = {result['rate']:,.0f} entries/s; runs launched: {result['runs']}; "
              f"peak RSS of a run process: {result['peak_mib']:.0f} MiB; "
              f"ratio to bare client: {result['rate'] / baseline['rate']:.2f}; Dagster's floor for the "
              f"{days * args.ledgers * 2} materialization events: {floor:.1f} s, so the ratio is at most {best:.2f} "
              "even if fetching and storing were free", flush=True)
        with_summaries = backfill(days, args.ledgers, "*")
        print(f"  the same with the summaries, payouts and checks: {with_summaries['wall']:.1f} s "
              f"(+{with_summaries['wall'] - result['wall']:.1f} s, x{with_summaries['wall'] / result['wall']:.2f}); "
              f"peak RSS {with_summaries['peak_mib']:.0f} MiB; runs launched: {with_summaries['runs']}", flush=True)


if __name__ == "__main__":
    main()
