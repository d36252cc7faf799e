"""A year-long backfill through Dagster on the simulator, against the bare client in the same invocation.

For each size (30 and 365 ledger dates x 10 ledgers, about 1,000 captures a weekday), runs, for
the two ledgers alone and then for everything (with the summaries, payouts and checks),
``dagster asset materialize --partition-range`` (the single run that a UI backfill of these assets
launches, thanks to BackfillPolicy.single_run) in a fresh DAGSTER_HOME and data directory, against a
simulator process over loopback. Prints entries per second, wall time, runs launched, peak memory
of the step process that does the work (and, apart, of the CLI process, which also keeps the run's
events for its result), and the ratio to the bare client rate (bench_client.py's measurement, taken
here in the same invocation).

    python benchmarks/bench_backfill.py [--days 30 365] [--ledgers 10]

Dagster records one materialization event per ledger-day and asset; with SQLite instance storage
each costs a few milliseconds whatever the asset does. The benchmark measures that cost alone and
prints the ratio it leaves room for even if fetching and storing were free (Dagster's floor).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
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


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return 0.0


def descendants(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    found += [int(child), *descendants(int(child))]
    except OSError:
        pass
    return found


def watch_memory(process: subprocess.Popen[str], peaks: dict[int, float], done: threading.Event) -> None:
    """Samples the resident memory of the run's processes (the CLI and its step process) until done."""
    while not done.wait(0.25):
        for pid in [process.pid, *descendants(process.pid)]:
            peaks[pid] = max(peaks.get(pid, 0.0), rss_mib(pid))


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
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "report_assets.definitions",
             "--select", select, "--partition-range", f"{first}|{ids[0]}...{LAST_DAY}|{ids[-1]}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peaks: dict[int, float] = {}
        done = threading.Event()
        watcher = threading.Thread(target=watch_memory, args=(process, peaks, done))
        watcher.start()
        output, _ = process.communicate()
        wall = time.perf_counter() - started
        done.set()
        watcher.join()
        if process.returncode != 0:
            raise SystemExit(output[-5000:])
        step_peak = max((mib for pid, mib in peaks.items() if pid != process.pid), default=0.0)
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            runs = len(instance.get_runs())
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
            entries = sum(connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                          for t in ("funds_ledger", "fees_ledger"))
    return {"days": days, "entries": entries, "wall": wall, "rate": entries / wall, "runs": runs,
            "peak_mib": step_peak, "cli_peak_mib": peaks.get(process.pid, 0.0)}


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
              f"peak RSS of the step process: {result['peak_mib']:.0f} MiB (the CLI process that collects the run's "
              f"events: {result['cli_peak_mib']:.0f} MiB); "
              f"ratio to bare client: {result['rate'] / baseline['rate']:.2f}; Dagster's floor for the "
              f"{days * args.ledgers * 2} materialization events: {floor:.1f} s, so the ratio is at most {best:.2f} "
              "even if fetching and storing were free", flush=True)
        with_summaries = backfill(days, args.ledgers, "*")
        print(f"  the same with the summaries, payouts and checks: {with_summaries['wall']:.1f} s "
              f"(+{with_summaries['wall'] - result['wall']:.1f} s, x{with_summaries['wall'] / result['wall']:.2f}); "
              f"peak RSS of the step process {with_summaries['peak_mib']:.0f} MiB (CLI process "
              f"{with_summaries['cli_peak_mib']:.0f} MiB); runs launched: {with_summaries['runs']}", flush=True)


if __name__ == "__main__":
    main()
