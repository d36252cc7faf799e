"""Backfills through Dagster on the simulator, each against a bare client fetch of the same ledger-days.

For each workload, in one invocation:
- the bare client: every ledger-day of both topics read over loopback with 8 connections and validated, nothing
  stored (the floor this project's fetching cannot beat);
- ``dagster asset materialize --select * --partition-range first...last``: the single run a UI backfill of
  these assets launches (BackfillPolicy.single_run), every asset with its checks (the books step is in it,
  skipped: the books follow the run), in a fresh DAGSTER_HOME and data directory, against its own simulator
  process with the same options, on each ``--instance`` asked for: the project's SQLite or PostgreSQL instance
  (a pgserver of its own; both with the project's event log, its connections kept), or either with Dagster's own
  event log. The instance's storages are created first, as the UI has them before any backfill;
- a run with nothing due (the last closed date again): the fixed cost of every run;
- the hourly run: the open dates due again, everything before stored closed, as the schedule's run would be.
Prints the wall times, the ratio (bare time / Dagster time: 1.0 would be as fast as fetching alone), where a
run's wall time went (from its own events: the process's start to the run's, to the step's, the step, the end),
the events it wrote and the time writing them took (``timed_event_log.py``), CPU seconds per million entries by
process, and the peak resident memory of every process of the run (the CLI, which runs the step and reports to
Dagster; its ingest child, which fetches and stores in a larger run; the simulator). A table ends the output.

    python benchmarks/bench_backfill.py [W1 W2 W3 L90 M1] [--quick] [--instance sqlite --instance postgres]
                                        [--latency 0.1]

W1: 10 ledgers x 365 days, ~1,000 captures a weekday. W2: 2,000 ledgers x 30 days, 20 captures a weekday.
W3: a partner's hourly run, 5,000 ledgers with today and yesterday open. L90: 10 ledgers x 90 days with every
request answered 100 ms late, as production's network does. M1: a merchant's year, 3 ledgers x 365 days, 50
captures a weekday: few entries a date, so the events a date costs (a materialization per asset, an evaluation
per check) weigh most. ``--quick`` runs smaller versions of each;
``--latency`` answers every request of every workload that late.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pgserver
from dagster import AssetKey, DagsterEventType, DagsterInstance
from dagster._core.instance.ref import InstanceRef
from timed_event_log import TIMES_FILE

from report_assets.report_api import ApiSettings, ReportApiClient, Secret
from report_assets.simulator.process import SimulatorProcess
from report_assets.simulator.world import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_KEY

LAST_DAY = date(2026, 11, 24)
NOW = "2026-11-24T13:00:00+00:00"  # the simulator's frozen clock: the 24th is open, everything before closed
BENCHMARKS = Path(__file__).resolve().parent
INSTANCES = ("sqlite", "dagster-sqlite", "postgres", "dagster-postgres")
PROJECT_PROCESSES = ("cli", "ingest", "fetch")  # the run's process, its ingest child and that one's fetch processes


@dataclass(frozen=True)
class Workload:
    name: str
    ledgers: int
    days: int
    captures: int
    open_days: int = 1  # the last days still open: today, and yesterday too for a partner's hourly run
    latency: float = 0.0  # seconds the simulator waits before answering each request

    @property
    def describe(self) -> str:
        late = f", every request answered {self.latency * 1000:.0f} ms late" if self.latency else ""
        return (f"{self.ledgers:,} ledgers x {self.days} days ({self.open_days} open), {self.captures:,} captures a "
                f"weekday{late}")


WORKLOADS = {
    "W1": Workload("W1", 10, 365, 1000),
    "W2": Workload("W2", 2000, 30, 20),
    "W3": Workload("W3", 5000, 2, 20, open_days=2),  # a partner's hourly run: today and yesterday open
    "L90": Workload("L90", 10, 90, 1000, latency=0.1),  # production's latency
    "M1": Workload("M1", 3, 365, 50),  # a merchant's year: the events of each date weigh most
}
QUICK = {"W1": Workload("W1-small", 10, 30, 1000), "W2": Workload("W2-small", 200, 30, 20),
         "W3": Workload("W3-small", 500, 2, 20, open_days=2), "L90": Workload("L90-small", 10, 14, 1000, latency=0.1),
         "M1": Workload("M1-small", 3, 90, 50)}


def simulator_args(work: Workload) -> list[str]:
    args = ["--ledgers", str(work.ledgers), "--captures-per-day", str(work.captures), "--now", NOW,
            "--ledger-page-size", "1000"]
    for day in dates_of(work.days)[-work.open_days:-1]:  # today is open by the clock
        args += ["--open-date", day.isoformat()]
    if work.latency:
        args += ["--rate-slow", "1", "--slow-seconds", str(work.latency)]
    return args


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return 0.0


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return " ".join(p.decode(errors="replace") for p in cmdline.read().split(b"\0"))
    except OSError:
        return ""


def parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def process_name(pid: int) -> str:
    text = command_line(pid)
    if not text:
        return "?"
    if "report_assets.simulator" in text:
        return "simulator"
    if "dagster asset materialize" in text or "-m dagster asset" in text:
        return "cli"
    # The run's process spawns a child for the fetching and storing (report_assets.pipeline.ingest_process), and that
    # one its fetch processes (fetch_process), whose command lines name multiprocessing.
    if "resource_tracker" in text:
        return "other"
    if "multiprocessing" in text:
        return "fetch" if "multiprocessing" in command_line(parent_of(pid)) else "ingest"
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


class ProcessWatch:
    """Samples a process tree until stopped: the peak resident memory of its processes (and of any extra pids),
    and the CPU seconds of its processes, by process kind (a process's last sample counts; the CPU of a child's
    final fraction of a second may be missed)."""

    def __init__(self, root: int, extra: dict[int, str]) -> None:
        self.root, self.extra = root, extra
        self.peaks: dict[str, float] = {}
        self.cpu_of: dict[int, tuple[str, float]] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch)
        self.thread.start()

    def watch(self) -> None:
        while not self.done.wait(0.2):
            for pid, name in self.extra.items():
                self.peaks[name] = max(self.peaks.get(name, 0.0), rss_mib(pid))
            for pid in [self.root, *descendants(self.root)]:
                # a pid keeps the name it was first seen with: an exited child's command line reads empty, and its
                # CPU time 0 once it is gone
                name, used = self.cpu_of.get(pid, (process_name(pid), 0.0))
                self.peaks[name] = max(self.peaks.get(name, 0.0), rss_mib(pid))
                self.cpu_of[pid] = (name, max(used, cpu_seconds(pid)))

    def stop(self) -> tuple[dict[str, float], dict[str, float]]:
        """The peak memory (MiB) and the CPU seconds, by process kind."""
        self.done.set()
        self.thread.join()
        cpu: dict[str, float] = {}
        for name, used in self.cpu_of.values():
            cpu[name] = cpu.get(name, 0.0) + used
        return self.peaks, cpu


def dates_of(days: int) -> list[date]:
    return [LAST_DAY - timedelta(days=n) for n in range(days - 1, -1, -1)]


def cpu_seconds(pid: int) -> float:
    """User and system CPU a live process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


@dataclass
class Fetched:
    wall: float
    entries: int
    cpu: float  # this process's client threads
    simulator_cpu: float


def bare_fetch(work: Workload) -> Fetched:
    """Every ledger-day of both topics through the client alone, as fast as it goes."""
    with SimulatorProcess.start(simulator_args(work)) as sim:
        settings = ApiSettings(client_id=DEFAULT_CLIENT_ID, client_secret=Secret(DEFAULT_CLIENT_SECRET),
                               subscription_key=Secret(DEFAULT_SUBSCRIPTION_KEY), base_url=sim.base_url,
                               max_connections=8)
        with ReportApiClient(settings) as client:
            sim_before, before, started = cpu_seconds(sim.process.pid), time.process_time(), time.perf_counter()
            ids = [ledger.ledger_id for ledger in client.list_ledgers()]
            jobs = [(i, topic, day) for day in dates_of(work.days) for i in ids for topic in ("funds", "fees")]

            def read(job: tuple[str, str, date]) -> int:
                with client.read_date(*job) as day:
                    return sum(len(page) for page in day.iter_pages())

            with ThreadPoolExecutor(max_workers=8) as pool:
                entries = sum(pool.map(read, jobs))
            return Fetched(time.perf_counter() - started, entries, time.process_time() - before,
                           cpu_seconds(sim.process.pid) - sim_before)


@contextmanager
def instance_yaml(instance: str, scratch: Path) -> Iterator[str]:
    """The measured instance's dagster.yaml: its event log timed (timed_event_log.py), the rest as configured."""
    head = "telemetry:\n  enabled: false\nevent_log_storage:\n  module: timed_event_log\n"
    files = f"  config:\n    base_dir: {scratch}/home/history/runs\n"  # where Dagster puts them; said for the reader
    if instance == "sqlite":  # the project's (dagster.yaml)
        yield head + "  class: TimedKeptConnectionSqliteEventLogStorage\n" + files
    elif instance == "dagster-sqlite":
        yield head + "  class: TimedSqliteEventLogStorage\n" + files
    else:
        server = pgserver.get_server(scratch / "pg", cleanup_mode="stop")
        try:
            # dagster-postgres brings psycopg2; SQLAlchemy's bare postgresql:// now means psycopg (3).
            url = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
            config = f"  config:\n    postgres_url: \"{url}\"\n"
            storages = [("run_storage", "PostgresRunStorage"), ("schedule_storage", "PostgresScheduleStorage")]
            storage = "TimedKeptConnectionPostgresEventLogStorage" if instance == "postgres" else \
                "TimedPostgresEventLogStorage"
            yield head + f"  class: {storage}\n" + config + "".join(
                f"{key}:\n  module: dagster_postgres.{key}\n  class: {name}\n" + config for key, name in storages)
        finally:
            server.cleanup()


def dagster_env(home: Path, data: Path, base_url: str, times: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORT_API_", "REPORT_ASSETS_"))}
    path = os.pathsep.join(p for p in (str(BENCHMARKS), env.get("PYTHONPATH", "")) if p)
    return {**env, "DAGSTER_HOME": str(home), "REPORT_ASSETS_DATA_DIR": str(data), "REPORT_API_BASE_URL": base_url,
            "REPORT_ASSETS_START_DATE": "2025-01-01", "PYTHONPATH": path, TIMES_FILE: str(times),
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}  # as make ui and make main set it


@dataclass
class Run:
    """One measured ``dagster asset materialize``."""

    wall: float
    cpu: float  # the CLI's and its ingest child's
    simulator_cpu: float
    peaks: dict[str, float]
    cpu_by_process: dict[str, float]  # sampled: the CLI (the step, reporting), its ingest child
    events: int = 0
    event_seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # where the wall time went, from the run's own events


def materialize(env: dict[str, str], first: date, last: date, sim_pid: int) -> Run:
    times = Path(env[TIMES_FILE])
    times.unlink(missing_ok=True)
    before, sim_before = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_seconds(sim_pid)
    started_at, started = time.time(), time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "report_assets.definitions",
         "--select", "*", "--partition-range", f"{first}...{last}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watch = ProcessWatch(process.pid, {sim_pid: "simulator"})
    output, _ = process.communicate()
    wall, ended_at = time.perf_counter() - started, time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peaks, cpu_by_process = watch.stop()
    run = Run(wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
              cpu_seconds(sim_pid) - sim_before, peaks, cpu_by_process)
    if process.returncode != 0:
        raise SystemExit(output[-5000:])
    for line in times.read_text().splitlines() if times.exists() else []:
        written = json.loads(line)
        run.events += written["events"]
        run.event_seconds += written["seconds"]
    run.stages = stages(Path(env["DAGSTER_HOME"]), started_at, ended_at)
    return run


def stages(home: Path, started_at: float, ended_at: float) -> dict[str, float]:
    """The latest run's wall time in stages, from its events' timestamps: loading (the process's start, imports,
    definitions and instance, to the run's first event), planning and starting (the planned events, the run's and
    the step's start), the step, and the end (the step's last event to the process's exit)."""
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        records = instance.all_logs(instance.get_runs(limit=1)[0].run_id)
    first = records[0].timestamp
    step_start = next((r.timestamp for r in records if r.dagster_event_type == DagsterEventType.STEP_START), first)
    step_end = next((r.timestamp for r in reversed(records) if r.dagster_event_type in (
        DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)), ended_at)
    return {"load": first - started_at, "plan": step_start - first, "step": step_end - step_start,
            "end": ended_at - step_end}


@dataclass
class Measured:
    work: Workload
    instance: str
    bare: Fetched
    backfill: Run
    entries: int
    files: int
    idle: Run | None  # a run with nothing due: its fixed cost
    hourly: Run
    instance_seconds: float  # creating the instance's storages, before any run


def create_instance(home: Path) -> float:
    """Creates the instance's storages (runs, event log index, schedules), as the UI or any earlier run has on a
    user's machine before a backfill: their creation, once per instance, is no run's cost. The seconds it took."""
    started = time.perf_counter()
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.get_runs(limit=1)
        instance.fetch_materializations(AssetKey("funds_ledger"), limit=1)
        instance.all_instigator_state()
    return time.perf_counter() - started


def through_dagster(work: Workload, instance: str, bare: Fetched, fetch_processes: int | None) -> Measured:
    days = dates_of(work.days)
    with (tempfile.TemporaryDirectory() as scratch_dir, SimulatorProcess.start(simulator_args(work)) as sim,
          instance_yaml(instance, Path(scratch_dir)) as yaml):
        scratch = Path(scratch_dir)
        home, data = scratch / "home", scratch / "data"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml)
        instance_seconds = create_instance(home)
        env = dagster_env(home, data, sim.base_url, scratch / "event_times.jsonl")
        if fetch_processes is not None:
            env["REPORT_ASSETS_FETCH_PROCESSES"] = str(fetch_processes)
            instance = f"{instance}, {fetch_processes} fetch processes"
        backfill = materialize(env, days[0], days[-1], sim.process.pid)
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
            entries = sum(connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                          for t in ("funds_ledger", "fees_ledger"))
        files = sum(1 for _ in (data / "lake" / "funds").glob("ledger_date=*/part-0.parquet"))
        closed = days[:-work.open_days]
        # A run with nothing due (the last closed date, stored closed): what every run costs before any fetch.
        idle = materialize(env, closed[-1], closed[-1], sim.process.pid) if closed else None
        # The hourly run: the open dates due again, everything before stored closed.
        hourly = materialize(env, days[-work.open_days], days[-1], sim.process.pid)
    return Measured(work, instance, bare, backfill, entries, files, idle, hourly, instance_seconds)


def peaks_text(peaks: dict[str, float]) -> str:
    return ", ".join(f"{name} {mib:.0f}" for name, mib in sorted(peaks.items()))


def stages_text(run: Run) -> str:
    return " + ".join(f"{name} {seconds:.1f}" for name, seconds in run.stages.items())


def report(m: Measured) -> None:
    bare, run = m.bare, m.backfill
    million = m.entries / 1e6
    print(f"{m.work.name} on {m.instance}: {m.work.describe}; {m.entries:,} entries stored "
          f"({bare.entries:,} fetched bare), {m.files} funds files; the instance created first in "
          f"{m.instance_seconds:.2f} s")
    print(f"  bare client fetch: {bare.wall:.1f} s, CPU {bare.cpu / million:.1f} s/M entries "
          f"(simulator {bare.simulator_cpu / million:.1f})")
    print(f"  one Dagster run, every asset: {run.wall:.1f} s ({stages_text(run)}); "
          f"ratio bare/Dagster {bare.wall / run.wall:.2f}")
    by_process = ", ".join(f"{name} {seconds / million:.1f}" for name, seconds in sorted(run.cpu_by_process.items())
                           if name in PROJECT_PROCESSES)
    print(f"    CPU {run.cpu / million:.1f} s/M entries ({by_process}; simulator {run.simulator_cpu / million:.1f}); "
          f"{run.events:,} events written in {run.event_seconds:.1f} s "
          f"({1000 * run.event_seconds / max(run.events, 1):.2f} ms each)")
    print(f"    peak RSS MiB: {peaks_text(run.peaks)}")
    if m.idle is not None:
        print(f"  a run with nothing due (fixed cost): {m.idle.wall:.1f} s ({stages_text(m.idle)}), "
              f"{m.idle.events} events in {m.idle.event_seconds:.2f} s")
    print(f"  hourly run, open dates due: {m.hourly.wall:.1f} s ({stages_text(m.hourly)}), {m.hourly.events} events "
          f"in {m.hourly.event_seconds:.2f} s; peak RSS MiB: {peaks_text(m.hourly.peaks)}", flush=True)


def summary_row(m: Measured) -> str:
    idle = f"{m.idle.wall:.1f}" if m.idle else "-"
    return (f"| {m.work.name} | {m.instance} | {m.work.latency * 1000:.0f} ms | {m.entries:,} | {m.bare.wall:.1f} | "
            f"{m.backfill.wall:.1f} | {m.bare.wall / m.backfill.wall:.2f} | {m.backfill.events:,} / "
            f"{m.backfill.event_seconds:.1f} s | {idle} | {m.hourly.wall:.1f} | "
            f"{max(m.backfill.peaks.get(name, 0.0) for name in PROJECT_PROCESSES):.0f} MiB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help=f"of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller versions of the workloads")
    parser.add_argument("--instance", action="append", choices=INSTANCES,
                        help="the Dagster instance(s) to measure on, each against the same bare fetch: the project's "
                             "SQLite (the default) or PostgreSQL one (dagster.yaml, deploy/dagster.yaml), or either "
                             "with Dagster's own event log")
    parser.add_argument("--latency", type=float, help="seconds each request is answered late, for every workload")
    parser.add_argument("--fetch-processes", type=int, action="append",
                        help="runs with this many processes fetching beside the ingest child "
                             "(REPORT_ASSETS_FETCH_PROCESSES), each against the same bare fetch (default: the "
                             "setting's own default)")
    args = parser.parse_args()
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}: choose from {', '.join(WORKLOADS)}")
    print(f"benchmark started {datetime.now().isoformat(timespec='seconds')}", flush=True)
    rows = []
    for name in args.workloads or list(WORKLOADS):
        work = (QUICK if args.quick else WORKLOADS)[name]
        if args.latency is not None:
            work = replace(work, latency=args.latency)
        bare = bare_fetch(work)
        for instance in args.instance or ["sqlite"]:
            for processes in args.fetch_processes or [None]:
                measured = through_dagster(work, instance, bare, processes)
                report(measured)
                rows.append(summary_row(measured))
    print("\n| workload | instance | latency | entries | bare fetch s | Dagster run s | ratio | events / their time | "
          "nothing-due run s | hourly run s | peak RSS (run, child) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
