"""Backfills through Dagster on the simulator, each against a bare client fetch of the same ledger-days.

For each workload, in one invocation:
- the bare client: every ledger-day of both topics read over loopback with 8 connections, nothing stored
  (the floor this project's fetching cannot beat);
- ``dagster asset materialize --select * --partition-range first...last``: the single run a UI backfill of
  these assets launches (BackfillPolicy.single_run), every asset with its checks (the books step is in it,
  skipped: the books follow the run), in a fresh DAGSTER_HOME and data directory, against its own simulator
  process with the same options;
- for the hourly case: the same backfill done, then today alone due, as the schedule's run would be.
Prints the wall times, the ratio (bare time / Dagster time: 1.0 would be as fast as fetching alone) and
the peak resident memory of every process of the run (the CLI, which runs the step and reports to Dagster;
its ingest child, which fetches and stores; the simulator).

    python benchmarks/bench_backfill.py W1 W2 [--quick]

W1: 10 ledgers x 365 days, ~1,000 captures a weekday. W2: 2,000 ledgers x 30 days, 20 captures a weekday.
``--quick`` runs smaller versions of each (W1: 10 x 30 days; W2: 200 x 30) to compare sizes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from report_assets.report_api import ApiSettings, ReportApiClient, Secret
from report_assets.simulator.server import SimulatorProcess
from report_assets.simulator.world import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_KEY

LAST_DAY = date(2026, 11, 24)
NOW = "2026-11-24T13:00:00+00:00"  # the simulator's frozen clock: the 24th is open, everything before closed
INSTANCE_YAML = "telemetry:\n  enabled: false\n"
# The project's event log (dagster.yaml: each file's connection kept); --dagster-event-log measures Dagster's own.
PROJECT_EVENT_LOG = ("event_log_storage:\n  module: report_assets.defs.event_log\n"
                     "  class: KeptConnectionSqliteEventLogStorage\n")


@dataclass(frozen=True)
class Workload:
    name: str
    ledgers: int
    days: int
    captures: int


WORKLOADS = {"W1": Workload("W1", 10, 365, 1000), "W2": Workload("W2", 2000, 30, 20)}
QUICK = {"W1": Workload("W1-small", 10, 30, 1000), "W2": Workload("W2-small", 200, 30, 20)}


def simulator_args(work: Workload) -> list[str]:
    return ["--ledgers", str(work.ledgers), "--captures-per-day", str(work.captures), "--now", NOW,
            "--ledger-page-size", "1000"]


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return 0.0


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            parts = cmdline.read().split(b"\0")
        text = " ".join(p.decode(errors="replace") for p in parts)
    except OSError:
        return "?"
    if "report_assets.simulator" in text:
        return "simulator"
    if "dagster asset materialize" in text or "-m dagster asset" in text:
        return "cli"
    # The run's process spawns a child for the fetching and storing (report_assets.pipeline.ingest_process), whose
    # command line names multiprocessing.
    if "multiprocessing" in text:
        return "ingest"
    return "dagster" if "dagster" in text else "other"


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


class MemoryWatch:
    """Samples the resident memory of a process tree (and any extra pids) until stopped."""

    def __init__(self, root: int, extra: dict[int, str]) -> None:
        self.root, self.extra = root, extra
        self.peaks: dict[str, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch)
        self.thread.start()

    def watch(self) -> None:
        while not self.done.wait(0.2):
            pids = {pid: process_name(pid) for pid in [self.root, *descendants(self.root)]} | self.extra
            for pid, name in pids.items():
                self.peaks[name] = max(self.peaks.get(name, 0.0), rss_mib(pid))

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.thread.join()
        return self.peaks


def dates_of(days: int) -> list[date]:
    return [LAST_DAY - timedelta(days=n) for n in range(days - 1, -1, -1)]


def bare_fetch(work: Workload) -> tuple[float, int]:
    """Every ledger-day of both topics through the client alone, as fast as it goes."""
    with SimulatorProcess.start(simulator_args(work)) as sim:
        settings = ApiSettings(client_id=DEFAULT_CLIENT_ID, client_secret=Secret(DEFAULT_CLIENT_SECRET),
                               subscription_key=Secret(DEFAULT_SUBSCRIPTION_KEY), base_url=sim.base_url,
                               max_connections=8)
        with ReportApiClient(settings) as client:
            ids = [ledger.ledger_id for ledger in client.list_ledgers()]
            jobs = [(i, topic, day) for day in dates_of(work.days) for i in ids for topic in ("funds", "fees")]

            def read(job: tuple[str, str, date]) -> int:
                with client.read_date(*job) as day:
                    return sum(len(page) for page in day.iter_pages())

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=8) as pool:
                entries = sum(pool.map(read, jobs))
            return time.perf_counter() - started, entries


def fresh_home(scratch: Path, dagster_event_log: bool = False) -> Path:
    """A DAGSTER_HOME of its own for one measured run: the project's event log, or Dagster's own."""
    home = scratch / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML + ("" if dagster_event_log else PROJECT_EVENT_LOG))
    return home


def dagster_env(home: Path, data: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORT_API_", "REPORT_ASSETS_"))}
    return {**env, "DAGSTER_HOME": str(home), "REPORT_ASSETS_DATA_DIR": str(data), "REPORT_API_BASE_URL": base_url,
            "REPORT_ASSETS_START_DATE": "2025-01-01",
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}  # as make ui and make main set it


def materialize(env: dict[str, str], first: date, last: date, sim_pid: int) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "report_assets.definitions",
         "--select", "*", "--partition-range", f"{first}...{last}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watch = MemoryWatch(process.pid, {sim_pid: "simulator"})
    output, _ = process.communicate()
    wall = time.perf_counter() - started
    peaks = watch.stop()
    if process.returncode != 0:
        raise SystemExit(output[-5000:])
    return wall, peaks


def through_dagster(work: Workload, dagster_event_log: bool = False) -> dict[str, object]:
    days = dates_of(work.days)
    with tempfile.TemporaryDirectory() as scratch, SimulatorProcess.start(simulator_args(work)) as sim:
        home, data = fresh_home(Path(scratch), dagster_event_log), Path(scratch) / "data"
        env = dagster_env(home, data, sim.base_url)
        wall, peaks = materialize(env, days[0], days[-1], sim.process.pid)
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
            entries = sum(connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                          for t in ("funds_ledger", "fees_ledger"))
        # The hourly run when only today is due: everything before is stored closed.
        hourly, hourly_peaks = materialize(env, days[-1], days[-1], sim.process.pid)
        files = sum(1 for _ in (data / "lake" / "funds").glob("ledger_date=*/part-0.parquet"))
    return {"wall": wall, "entries": entries, "peaks": peaks, "hourly": hourly, "hourly_peaks": hourly_peaks,
            "files": files}


def peaks_text(peaks: dict[str, float]) -> str:
    return ", ".join(f"{name} {mib:.0f} MiB" for name, mib in sorted(peaks.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help="W1 and/or W2 (default: both)")
    parser.add_argument("--quick", action="store_true", help="smaller versions of the workloads")
    parser.add_argument("--dagster-event-log", action="store_true",
                        help="Dagster's own SQLite event log instead of the project's (dagster.yaml)")
    args = parser.parse_args()
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}: choose from {', '.join(WORKLOADS)}")
    print(f"benchmark started {datetime.now().isoformat(timespec='seconds')}", flush=True)
    for name in args.workloads or list(WORKLOADS):
        work = (QUICK if args.quick else WORKLOADS)[name]
        bare, bare_entries = bare_fetch(work)
        result = through_dagster(work, args.dagster_event_log)
        print(f"{work.name}: {work.ledgers} ledgers x {work.days} days, {work.captures} captures a weekday, "
              f"{bare_entries:,} entries", flush=True)
        print(f"  bare client fetch: {bare:.1f} s ({bare_entries / bare:,.0f} entries/s)")
        print(f"  one Dagster run, every asset: {result['wall']:.1f} s ({result['entries']:,} entries stored, "
              f"{result['files']} funds files); ratio bare/Dagster {bare / result['wall']:.2f}")
        print(f"  peak RSS: {peaks_text(result['peaks'])}")
        print(f"  hourly run with only today due (process start included): {result['hourly']:.1f} s; peak RSS: "
              f"{peaks_text(result['hourly_peaks'])}", flush=True)


if __name__ == "__main__":
    main()
