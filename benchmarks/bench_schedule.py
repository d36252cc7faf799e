"""The hourly schedule's evaluation for a partner's thousands of ledgers, and the simulator's start with them.

Builds a ledger catalog of N ledgers and a status file in which every ledger-day of the look-back window
is stored closed except today (open), then times what the schedule does at a tick: read the catalog and
the status file, and work out the due dates and ledgers (median of 5). Also times how long the simulator
takes to answer its first request with N ledgers.

    python benchmarks/bench_schedule.py [--ledgers 500 5000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import httpx

from report_assets.core.ledger_day import LedgerDay
from report_assets.defs.automation.schedules import hourly_ledger_refresh, window
from report_assets.defs.resources import DataDirResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import write_catalog
from report_assets.settings import ENV_LOOKBACK, load_settings
from report_assets.simulator.process import SimulatorProcess

TICK = datetime(2026, 11, 24, 12, 17, tzinfo=UTC)
SETTINGS = load_settings({ENV_LOOKBACK: "7"})
SCHEDULE = hourly_ledger_refresh(SETTINGS)


def catalog_records(ledgers: int) -> list[dict[str, object]]:
    return [{"ledger_id": str(100000 + n), "currency": "NOK", "timezone": "Europe/Oslo", "timezone_source": "owner",
             "owner": None, "payout_bank_account": None, "recipient_handles": [], "listed": True,
             "first_seen": TICK, "last_seen": TICK} for n in range(ledgers)]


def schedule_tick_seconds(ledgers: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as scratch, dg.instance_for_test(temp_dir=scratch) as instance:
        data = DataDir(Path(scratch) / "data")
        records = catalog_records(ledgers)
        write_catalog(data.lake, records)
        dates = window(TICK, SETTINGS)
        closed = [(LedgerDay(d, str(r["ledger_id"])), topic, d == dates[-1], 10)
                  for d in dates for r in records for topic in ("funds", "fees")]
        data.status.record_stored([row for row in closed if not row[2]], TICK)
        data.status.record_stored([row for row in closed if row[2]], TICK)
        times, tags = [], ""
        for _ in range(5):
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK,
                                           resources={"data_dir": DataDirResource(path=str(data.root))}) as context:
                started = time.perf_counter()
                result = SCHEDULE.evaluate_tick(context)
                times.append(time.perf_counter() - started)
            tags = str(result.run_requests[0].tags if result.run_requests else result.skip_message)
        return statistics.median(times), tags


def simulator_start_seconds(ledgers: int) -> float:
    started = time.perf_counter()
    with SimulatorProcess.start(["--ledgers", str(ledgers), "--captures-per-day", "20"]) as sim:
        while True:
            try:
                httpx.get(f"{sim.base_url}/_simulator/stats", timeout=5).raise_for_status()
                return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledgers", type=int, nargs="+", default=[500, 5000])
    args = parser.parse_args()
    for ledgers in args.ledgers:
        seconds, tags = schedule_tick_seconds(ledgers)
        print(f"{ledgers} ledgers x {SETTINGS.lookback_days + 1} dates: schedule tick median {seconds:.3f} s; "
              f"asks for {tags}")
        started = simulator_start_seconds(ledgers)
        print(f"  simulator with {ledgers} ledgers answers its first request after {started:.2f} s", flush=True)


if __name__ == "__main__":
    main()
