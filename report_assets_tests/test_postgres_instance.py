"""The instance on PostgreSQL, run as a deployment beyond one machine runs it: the real webserver and daemon
on dagster-postgres storage, the Parquet lake in an S3-compatible object store (SeaweedFS, see
``object_store.py``), the run queue and the warehouse pool, a backfill in several runs.

The server is PostgreSQL 16 from the ``pgserver`` wheel (a pinned test dependency): it needs no system
package or root setup, so the test runs the same on a fresh machine and in CI. pgserver listens on a
Unix socket in its data directory (no TCP port to collide with), which dagster-postgres reaches through
``postgres_url``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pgserver
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import ConfigurableClass
from dagster_postgres.event_log import PostgresEventLogStorage

from report_assets.defs.automation.schedules import hourly_ledger_refresh
from report_assets.defs.postgres_event_log import KeptConnectionPostgresEventLogStorage
from report_assets.defs.resources import DataDirResource
from report_assets.lake.data_dir import DataDir
from report_assets.report_api import ReportApiClient
from report_assets.settings import ENV_LOOKBACK, PROJECT_ROOT
from report_assets.simulator.object_store import BUCKET, seaweed_s3
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.check_events import assert_written_alike, rows_written
from report_assets_tests.conftest import Sim, SimFactory, project_settings, settings_for
from report_assets_tests.services import graphql, reading, running_services, until

pytestmark = pytest.mark.system  # real servers: webserver and daemon, PostgreSQL, an S3-compatible store

LEDGERS = ["302321", "405512", "517734"]
LAKE_URL = f"s3://{BUCKET}/deployment"
DATES = [f"2026-11-{d:02d}" for d in range(8, 20)]  # 12 closed ledger dates
DATES_PER_RUN = 3
MAX_CONCURRENT_RUNS = 2
NOON_20TH = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
ASSETS = ["funds_ledger", "fees_ledger", "daily_fee_summary", "daily_payout_summary", "payouts", "journal_lines"]
INSTANCE_YAML = """\
telemetry:
  enabled: false
run_storage:
  module: dagster_postgres.run_storage
  class: PostgresRunStorage
  config:
    postgres_url: "{url}"
event_log_storage:
  module: report_assets.defs.postgres_event_log
  class: KeptConnectionPostgresEventLogStorage
  config:
    postgres_url: "{url}"
schedule_storage:
  module: dagster_postgres.schedule_storage
  class: PostgresScheduleStorage
  config:
    postgres_url: "{url}"
concurrency:
  runs:
    max_concurrent_runs: {runs}
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 60
  poll_interval_seconds: 5
run_retries:
  enabled: true
  max_retries: 2
  retry_on_asset_or_op_failure: false
"""
LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status } ... on PythonError { message } } }"""
LAUNCH_RUN = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
DONE = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


@pytest.fixture
def postgres_deployment(start_simulator: SimFactory, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """PostgreSQL for the instance, the lake in an object store (SeaweedFS), the webserver and the daemon."""
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    deployment: dict[str, Any] = {"server": server}
    sim = start_simulator(World(ledgers=default_ledgers(3, 60)), now=NOON_20TH)
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    # dagster-postgres brings psycopg2; SQLAlchemy's bare postgresql:// now means psycopg (3).
    postgres_url = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
    (home / "dagster.yaml").write_text(INSTANCE_YAML.format(url=postgres_url, runs=MAX_CONCURRENT_RUNS))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("REPORT_API_", "REPORT_ASSETS_"))},
           "DAGSTER_HOME": str(home), "REPORT_API_BASE_URL": sim.base_url, "REPORT_ASSETS_DATA_DIR": str(data),
           "REPORT_ASSETS_STEP_RETRIES": "0", "REPORT_ASSETS_START_DATE": DATES[0],
           "REPORT_ASSETS_BACKFILL_DATES_PER_RUN": str(DATES_PER_RUN), "REPORT_ASSETS_LAKE_URL": LAKE_URL}
    try:
        with seaweed_s3(tmp_path / "seaweedfs") as s3, running_services({**env, **s3.env()}, tmp_path) as services:
            for name, value in s3.env().items():  # this process reads the lake too
                monkeypatch.setenv(name, value)
            deployment = {"url": services.url, "home": home, "data": data, "sim": sim, "server": server,
                          "services": services}
            yield deployment
    finally:
        deployment["server"].cleanup()


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def step_interval(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    records = instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS})
    times = [r.timestamp for r in records if r.step_key == "ledger_entries"]
    return min(times), max(times)


def launch_backfill(url: str) -> str:
    launched = graphql(url, LAUNCH, {"params": {"partitionNames": DATES,
                                                "assetSelection": [{"path": [a]} for a in ASSETS]}})
    assert launched["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess", launched
    return launched["launchPartitionBackfill"]["backfillId"]


def backfill_status(url: str, backfill_id: str, seconds: float) -> str:
    def finished() -> str | None:
        try:
            status = graphql(url, STATUS, {"id": backfill_id})["partitionBackfillOrError"].get("status")
        except httpx.HTTPStatusError:  # the webserver's own storage connection, around a PostgreSQL restart
            return None
        return status if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED") \
            else None

    return until(finished, seconds, "the backfill")


@contextmanager
def steps_held_open(sim: Sim) -> Iterator[None]:
    """The backfill's runs have work, and take seconds over it, while the test looks for one in its ledger step:
    their dates are open (due again, whatever the discovery sensor's history run of the new ledgers stored
    first), and every request is answered a second late. Without this the history run could store every date
    before the backfill's runs started, whose steps then ended in a fraction of a second that polling missed."""
    sim.control(open_dates=DATES, faults={"rate_slow": 1.0, "slow_seconds": 1.0})
    try:
        yield
    finally:
        sim.control(faults={})


def writing(instance: dg.DagsterInstance, backfill_id: str) -> list[str]:
    """The backfill's runs in progress whose ledger step has started: they are writing."""
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id},
                                           statuses=[dg.DagsterRunStatus.STARTED]))
    return [r.run_id for r in runs if any(e.step_key == "ledger_entries" for e in instance.all_logs(
        r.run_id, of_type={dg.DagsterEventType.STEP_START}))]


def landed_and_served(sim: Sim, data: Path) -> tuple[dict, dict]:
    """Entries per ledger-day and topic: in the warehouse, and as the API serves them; the lake in the object store
    holds as many as the warehouse."""
    with ReportApiClient(settings_for(Sim(sim.server))) as client:
        api = {(lid, topic, day): len(client.read_date(lid, topic, day).entries())
               for lid in LEDGERS for topic in ("funds", "fees") for day in DATES}
    with reading(data) as connection:
        stored = {(lid, table.split("_")[0], str(day)): count for table in ("funds_ledger", "fees_ledger")
                  for lid, day, count in connection.execute(
                      f"SELECT ledger_id, ledger_date, count(*) FROM {table} WHERE ledger_date BETWEEN "
                      f"DATE '{DATES[0]}' AND DATE '{DATES[-1]}' GROUP BY ALL").fetchall()}
    lake = DataDir(data, LAKE_URL).lake
    in_lake = Counter()
    for topic, day in ((topic, day) for topic in ("funds", "fees") for day in DATES):
        rows = lake.read_date(topic, day, columns=["ledger_id"])
        in_lake.update((lid, topic, day) for lid in (rows.column("ledger_id").to_pylist() if rows else []))
    assert dict(in_lake) == {key: count for key, count in stored.items() if count}
    return stored, api


def test_a_backfill_on_postgres_runs_as_queued_runs_with_the_warehouse_serialized(
    postgres_deployment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, home, data, sim = (postgres_deployment[k] for k in ("url", "home", "data", "sim"))
    backfill_id = launch_backfill(url)
    started = datetime.now(UTC)
    assert backfill_status(url, backfill_id, 600) in ("COMPLETED", "COMPLETED_SUCCESS")
    wall = (datetime.now(UTC) - started).total_seconds()
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        records = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        assert len(records) == len(DATES) // DATES_PER_RUN
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        ranges = sorted((r.dagster_run.tags["dagster/asset_partition_range_start"],
                         r.dagster_run.tags["dagster/asset_partition_range_end"]) for r in records)
        assert ranges == [(DATES[n], DATES[n + DATES_PER_RUN - 1]) for n in range(0, len(DATES), DATES_PER_RUN)]
        # Every run of the instance (the backfill's, the discovery sensor's history run, the books after them):
        # never more in progress than the queue allows, and never two warehouse steps at once (the pool).
        every = [r for r in instance.get_run_records() if r.start_time and r.end_time]
        runs_at_once = most_at_once([(r.start_time, r.end_time) for r in every])
        assert 1 <= runs_at_once <= MAX_CONCURRENT_RUNS
        steps = [step_interval(instance, r.dagster_run.run_id) for r in records]
        assert most_at_once(steps) == 1
        # Rows landed: every ledger-day of both ledgers, as many entries as the API serves.
        stored, api = landed_and_served(sim, data)
        assert stored == api
        print(f"\nPostgreSQL instance: {len(DATES)} dates x {len(LEDGERS)} ledgers in {len(records)} runs of "
              f"{DATES_PER_RUN} dates, at most {runs_at_once} runs in progress at once (queue limit "
              f"{MAX_CONCURRENT_RUNS}), warehouse steps one at a time; backfill wall time {wall:.1f} s; "
              f"{sum(stored.values())} entries landed, {sum(api.values())} served by the API")
        # The discovery sensor ticked in the daemon, against PostgreSQL.
        until(lambda: instance.get_latest_materialization_event(dg.AssetKey("ledger_catalog")), 120,
              "the ledger discovery sensor")
        # The hourly schedule's run: its tick evaluated against this instance, the run it asks for launched
        # through GraphQL into the queue (the daemon would launch it at minute 17).
        schedule = hourly_ledger_refresh(project_settings(**{ENV_LOOKBACK: str(len(DATES))}))
        tick = datetime(2026, 11, 20, 12, 17, tzinfo=UTC)
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                       resources={"data_dir": DataDirResource(path=str(data),
                                                                                  lake_url=LAKE_URL)}) as context:
            request = schedule.evaluate_tick(context).run_requests[0]
        assert (request.tags["dagster/asset_partition_range_start"],
                request.tags["dagster/asset_partition_range_end"]) == ("2026-11-20", "2026-11-20")
        selector = {"repositoryLocationName": "report_assets.definitions", "repositoryName": "__repository__",
                    "jobName": "refresh_ledgers"}
        result = graphql(url, LAUNCH_RUN, {"params": {"selector": selector, "runConfigData": {}, "executionMetadata": {
            "tags": [{"key": k, "value": v} for k, v in request.tags.items()]}}})
        assert result["launchRun"]["__typename"] == "LaunchRunSuccess", result
        run_id = result["launchRun"]["run"]["runId"]
        hourly = until(lambda: (run := instance.get_run_by_id(run_id)) and run.status in DONE and run, 300,
                       "the hourly schedule's run")
        assert hourly.status == dg.DagsterRunStatus.SUCCESS
        with reading(data) as connection:
            today = connection.execute("SELECT count(DISTINCT ledger_id) FROM funds_ledger WHERE ledger_date = "
                                       "DATE '2026-11-20'").fetchone()[0]
        assert today == len(LEDGERS)


def test_a_runs_check_events_on_postgres_are_written_as_dagster_postgres_writes_them(tmp_path: Path) -> None:
    """The project's PostgreSQL event log writes a check evaluation in one transaction instead of three: every row
    equals what dagster-postgres's own storage writes for the same events, each in a database of its own."""
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    try:
        written = {}
        for name, storage in (("dagster", PostgresEventLogStorage), ("project", KeptConnectionPostgresEventLogStorage)):
            server.psql(f"CREATE DATABASE {name};")
            written[name] = rows_written(storage(
                server.get_uri(name).replace("postgresql://", "postgresql+psycopg2://", 1)))
        assert_written_alike(written["project"], written["dagster"])
    finally:
        server.cleanup()


def test_the_deployment_instance_config_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/dagster.yaml, as the services would load it: PostgreSQL storage (the project's event log), queue,
    pool, retries, monitoring."""
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    for name in ("DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_HOST", "DAGSTER_PG_DB"):
        monkeypatch.setenv(name, "x")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["event_log_storage"]["class"] == "KeptConnectionPostgresEventLogStorage"
    assert config["run_storage"]["config"] == config["event_log_storage"]["config"] == \
        config["schedule_storage"]["config"]
    assert config["run_storage"]["config"]["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):  # each class is there to load
        named = getattr(import_module(config[storage]["module"]), config[storage]["class"])
        assert issubclass(named, ConfigurableClass)
    assert config["concurrency"] == {"runs": {"max_concurrent_runs": 4}, "pools": {"default_limit": 1}}
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]


def test_the_daemon_killed_mid_backfill_and_restarted_still_completes_it_whole(
    postgres_deployment: dict[str, Any]
) -> None:
    """The daemon dies mid-backfill (SIGKILL, as when its container is lost) while a run it launched is writing,
    and is started again (as systemd or Kubernetes would): the run goes on, the new daemon picks the backfill up
    where it was, and every ledger-day ends whole."""
    url, home, data, sim, services = (postgres_deployment[k] for k in ("url", "home", "data", "sim", "services"))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        with steps_held_open(sim):
            backfill_id = launch_backfill(url)
            killed_runs = until(lambda: writing(instance, backfill_id), 300, "a backfill run in its ledger step")
            services.kill_daemon()
        services.restart_daemon()
        status = backfill_status(url, backfill_id, 900)
        killed = instance.get_run_by_id(killed_runs[0])
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        retries = [r for r in runs if r.tags.get("dagster/parent_run_id") == killed.run_id]
        print(f"\nDaemon killed during run {killed.run_id[:8]} ({killed.tags['dagster/asset_partition_range_start']}"
              f"..{killed.tags['dagster/asset_partition_range_end']}): that run ended {killed.status.value}, "
              f"{len(retries)} retry run(s) {[r.status.value for r in retries]}; backfill {status} with "
              f"{len(runs)} runs")
        for asset in ASSETS:
            assert set(DATES) <= instance.get_materialized_partitions(dg.AssetKey(asset)), asset
    stored, api = landed_and_served(sim, data)
    assert stored == api
    assert status in ("COMPLETED", "COMPLETED_SUCCESS")


def test_postgres_restarted_while_a_run_writes_events_then_a_rerun_makes_everything_whole(
    postgres_deployment: dict[str, Any], tmp_path: Path
) -> None:
    """PostgreSQL stops for a few seconds (a restart, a failover) while a backfill run is writing its events. The
    run ends, failed or retried or succeeded, never stuck; the same backfill launched again fetches what is
    missing, and every ledger-day is whole."""
    url, home, data, sim, server = (postgres_deployment[k] for k in ("url", "home", "data", "sim", "server"))
    with steps_held_open(sim):  # until PostgreSQL is back: the run is still in its step during the outage
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            backfill_id = launch_backfill(url)
            hit = until(lambda: writing(instance, backfill_id), 300, "a backfill run in its ledger step")[0]
        outage = time.monotonic()
        server.cleanup()  # stops the server (its data stays)
        time.sleep(5)  # the outage itself, not a wait for anything
        restarted = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
        assert restarted.get_uri() == server.get_uri()
        postgres_deployment["server"] = restarted
        outage = time.monotonic() - outage
    first = backfill_status(url, backfill_id, 900)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        hit_run = instance.get_run_by_id(hit)
        assert hit_run.status in DONE
        again = launch_backfill(url)
        second = backfill_status(url, again, 900)
        for asset in ASSETS:
            assert set(DATES) <= instance.get_materialized_partitions(dg.AssetKey(asset)), asset
    stored, api = landed_and_served(sim, data)
    print(f"\nPostgreSQL down {outage:.1f} s during run {hit[:8]}: that run ended {hit_run.status.value}; the backfill "
          f"ended {first}; launched again it ended {second}; {sum(stored.values())} entries landed, "
          f"{sum(api.values())} served by the API")
    assert stored == api
    assert second in ("COMPLETED", "COMPLETED_SUCCESS")
