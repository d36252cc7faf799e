"""The books step (bank statements, bank matches, arrival journals, monthly statements) against the backfill
of the same workload, measured in one invocation.

For each workload: the backfill through Dagster (as ``bench_backfill.py`` runs it: the ledgers, summaries
and journal lines of every date), then, timed apart in this process: the simulator's bank delivering the
payout accounts' camt.053 statements into the bank folder, and ``build_books`` reading the folder and
recomputing the three tables whole. Prints each wall time, the books' time as a share of the backfill's,
the rows, and this process's peak resident memory.

    python benchmarks/bench_books.py W1 W2 [--quick]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from bench_backfill import (  # a sibling script: Python puts this folder on the path
    QUICK,
    WORKLOADS,
    Workload,
    dagster_env,
    dates_of,
    fresh_home,
    materialize,
    simulator_args,
)

from report_assets.books.build import build_books, first_stored_dates
from report_assets.lake.data_dir import DataDir
from report_assets.simulator.embedded import deliver_statements
from report_assets.simulator.process import SimulatorProcess
from report_assets.transforms.accounts import load_account_map

TODAY = date(2026, 11, 24)  # the simulator's frozen clock in bench_backfill: its bank has booked up to the 23rd


def run(work: Workload) -> dict[str, float]:
    days = dates_of(work.days)
    with tempfile.TemporaryDirectory() as scratch, SimulatorProcess.start(simulator_args(work)) as sim:
        home, data = fresh_home(Path(scratch)), DataDir(Path(scratch) / "data")
        backfill, _ = materialize(dagster_env(home, data.root, sim.base_url), days[0], days[-1], sim.process.pid)
        bank = Path(scratch) / "bank"
        started = time.perf_counter()
        files = deliver_statements(sim.base_url, first_stored_dates(data), bank, TODAY)
        delivery = time.perf_counter() - started
        started = time.perf_counter()
        outcome = build_books(data, bank, load_account_map(), TODAY, 4, print)
        build = time.perf_counter() - started
        started = time.perf_counter()
        build_books(data, bank, load_account_map(), TODAY, 4, print)
        again = time.perf_counter() - started
    return {"backfill": backfill, "delivery": delivery, "files": files, "build": build, "again": again,
            "bank_lines": outcome.bank_lines,
            **{table: rows.num_rows for table, rows in outcome.tables.items()},
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help="W1 and/or W2 (default: both)")
    parser.add_argument("--quick", action="store_true", help="smaller versions of the workloads")
    args = parser.parse_args()
    print(f"benchmark started {datetime.now().isoformat(timespec='seconds')}", flush=True)
    for name in args.workloads or list(WORKLOADS):
        work = (QUICK if args.quick else WORKLOADS)[name]
        figures = run(work)
        print(f"{work.name} ({work.ledgers} ledgers x {work.days} days): backfill {figures['backfill']:.1f} s; "
              f"bank delivery {figures['delivery']:.1f} s ({figures['files']:.0f} files, simulator only); books "
              f"build {figures['build']:.1f} s, again {figures['again']:.1f} s = "
              f"{figures['build'] / figures['backfill']:.2f} of the backfill; {figures['bank_lines']:.0f} bank lines, "
              f"{figures['bank_matches']:.0f} bank_matches, {figures['bank_journal_lines']:.0f} bank_journal_lines, "
              f"{figures['monthly_statement']:.0f} monthly_statement rows; peak RSS of this process "
              f"{figures['peak_mib']:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
