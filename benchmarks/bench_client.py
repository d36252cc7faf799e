"""Simulator generation rate, simulator serving rate per core, the client's end-to-end rate, and its CPU.

10 ledgers x 30 days x both topics at about 1,000 captures a weekday. Each client run starts a fresh
simulator process (so it generates as it serves, nothing cached) and reads every ledger-day over
loopback with a bounded pool of threads and connections. Prints medians of the runs.

The client's CPU per million entries, on one simulator warmed up first (it serves from its cache, so the
client's own cost shows): on 1 and on 8 threads, and on one event loop with 8 connections (httpx's
``AsyncClient``, the same validation, without the client's retries and page buffer: if anything this favours the
loop), alternated. Reading the same pages costs more CPU on 8 threads than on one; this says whether an event loop
would take that away.

    python benchmarks/bench_client.py [--runs 3] [--ledgers 10] [--days 30] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import orjson

from report_assets.report_api import ApiSettings, ReportApiClient, Secret
from report_assets.report_api.errors import ReadContext
from report_assets.report_api.validation import EntryStreamValidator, check_dates_page
from report_assets.simulator.generator import LedgerGenerator
from report_assets.simulator.process import SimulatorProcess
from report_assets.simulator.render import render_day
from report_assets.simulator.world import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SEED,
    DEFAULT_SUBSCRIPTION_KEY,
    default_ledgers,
)

LAST_DAY = date(2026, 10, 31)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def generation_rate(ledgers: int, days: list[date]) -> float:
    started = time.process_time()
    entries = 0
    for spec in default_ledgers(ledgers):
        generator = LedgerGenerator(DEFAULT_SEED, spec)
        for day in days:
            for topic in ("funds", "fees"):
                opening, day_entries = generator.day(topic, day)
                entries += len(render_day(day, spec.currency, opening, day_entries, False))
    return entries / (time.process_time() - started)


def settings_for(base_url: str, workers: int) -> ApiSettings:
    return ApiSettings(client_id=DEFAULT_CLIENT_ID, client_secret=Secret(DEFAULT_CLIENT_SECRET),
                       subscription_key=Secret(DEFAULT_SUBSCRIPTION_KEY), base_url=base_url, max_connections=workers)


def jobs_of(ledgers: int, days: list[date]) -> list[tuple[str, str, date]]:
    return [(spec.ledger_id, topic, day) for spec in default_ledgers(ledgers) for day in days
            for topic in ("funds", "fees")]


def client_run(ledgers: int, days: list[date], workers: int) -> dict[str, float]:
    with SimulatorProcess.start(["--ledgers", str(ledgers), "--page-size", "1000"]) as sim:
        settings = settings_for(sim.base_url, workers)
        jobs = jobs_of(ledgers, days)
        with ReportApiClient(settings) as client:
            client.list_ledgers()  # token and connection set up outside the timing
            server_cpu = cpu_seconds(sim.process.pid)
            started = time.perf_counter()

            def read(job: tuple[str, str, date]) -> tuple[int, int]:
                with client.read_date(*job) as day:
                    count = sum(len(page) for page in day.iter_pages())
                    return count, day.bytes_fetched

            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(read, jobs))
            wall = time.perf_counter() - started
            server_cpu = cpu_seconds(sim.process.pid) - server_cpu
    entries = sum(count for count, _ in results)
    return {"entries": entries, "wall": wall, "rate": entries / wall, "bytes_per_entry":
            sum(size for _, size in results) / entries, "serve_rate_per_core": entries / server_cpu}


def threads_read(client: ReportApiClient, jobs: list[tuple[str, str, date]], workers: int) -> int:
    def read(job: tuple[str, str, date]) -> int:
        with client.read_date(*job) as day:
            return sum(len(page) for page in day.iter_pages())

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(read, jobs))


async def loop_read(client: ReportApiClient, jobs: list[tuple[str, str, date]], workers: int) -> int:
    """The same pages on one event loop: each ledger-day's pages in turn, ``workers`` ledger-days at once."""
    headers = client._auth_headers(client.tokens.get())
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=client.settings.base_url, limits=limits) as http:
        slots = asyncio.Semaphore(workers)

        async def read(ledger_id: str, topic: str, day: date) -> int:
            text = day.isoformat()
            validator = EntryStreamValidator(ReadContext(ledger_id, topic, text), ledger_date=text)
            entries, cursor, page_no = 0, None, 0
            async with slots:
                while True:
                    page_no += 1
                    response = await http.get(f"/report/v2/ledgers/{ledger_id}/{topic}/dates/{text}",
                                              params={"cursor": cursor} if cursor else {}, headers=headers)
                    page = check_dates_page(validator, orjson.loads(response.content), page_no)
                    entries += len(page.items)
                    if page.cursor is None:
                        return entries
                    cursor = page.cursor

        return sum(await asyncio.gather(*(read(*job) for job in jobs)))


def client_cpu(ledgers: int, days: list[date], runs: int) -> dict[str, list[float]]:
    """The client's CPU seconds per million entries, each way, alternated on one warm simulator."""
    ways = {"1 thread": lambda c, j: threads_read(c, j, 1), "8 threads": lambda c, j: threads_read(c, j, 8),
            "one event loop, 8 connections": lambda c, j: asyncio.run(loop_read(c, j, 8))}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    with (SimulatorProcess.start(["--ledgers", str(ledgers), "--page-size", "1000"]) as sim,
          ReportApiClient(settings_for(sim.base_url, 8)) as client):
        jobs = jobs_of(ledgers, days)
        threads_read(client, jobs, 8)  # the simulator generates every page once; from here it serves its cache
        for _ in range(runs):
            for name, way in ways.items():
                before = time.process_time()
                entries = way(client, jobs)
                cpu[name].append((time.process_time() - before) / entries * 1e6)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ledgers", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    days = [LAST_DAY - timedelta(days=i) for i in range(args.days)][::-1]
    gen = [generation_rate(args.ledgers, days) for _ in range(args.runs)]
    runs = [client_run(args.ledgers, days, args.workers) for _ in range(args.runs)]
    print(f"ledgers={args.ledgers} days={args.days} ({days[0]}..{days[-1]}) workers={args.workers} runs={args.runs}")
    print(f"entries per run: {int(runs[0]['entries'])}")
    print(f"simulator generation rate (generate + render, one core): median {statistics.median(gen):,.0f} "
          f"entries/s  runs {[round(g) for g in gen]}")
    serve = [r["serve_rate_per_core"] for r in runs]
    print(f"simulator serving rate (entries per CPU-second of the server process): median "
          f"{statistics.median(serve):,.0f} entries/s  runs {[round(s) for s in serve]}")
    rates = [r["rate"] for r in runs]
    print(f"client end-to-end rate over loopback (fresh simulator each run): median {statistics.median(rates):,.0f} "
          f"entries/s  runs {[round(r) for r in rates]}")
    print(f"wall per run: median {statistics.median(r['wall'] for r in runs):.2f} s")
    print(f"bytes per entry on the wire: {statistics.median(r['bytes_per_entry'] for r in runs):.1f}")
    for name, seconds in client_cpu(args.ledgers, days, args.runs).items():
        print(f"client CPU on a warm simulator, {name}: median {statistics.median(seconds):.2f} s per million "
              f"entries  runs {[round(s, 2) for s in seconds]}")


if __name__ == "__main__":
    main()
