"""The ledger assets in a real Dagster instance, writing real Parquet and DuckDB files in a temp dir.

A partition is a ledger date holding every tracked ledger; these tests check what lands in both stores,
what a re-run fetches (counted by the simulator), narrowing a run to one ledger, partial failure and its
repair, crashes at exact points of a write, and the analyst's lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dagster._core.instance.ref import InstanceRef

from report_assets.core.ledger_day import LedgerDay
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir, MixedSourcesError
from report_assets.report_api import ReportApiClient
from report_assets.settings import PROJECT_ROOT
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import LEDGER_STEP as ledger_entries
from report_assets_tests.conftest import Sim, SimFactory, check_evaluations, settings_for

LEDGERS = ["302321", "405512", "517734"]
NOON_20TH = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # 12:00 in Oslo: 2026-11-20 is today, and open
COLUMNS = ["ledger_id", "ledger_date", "position", "psp_reference", "entry_type", "amount", "balance_before",
           "balance_after", "is_open", "source"]


@pytest.fixture
def sim(start_simulator: SimFactory) -> Sim:
    return start_simulator(World(ledgers=default_ledgers(3, 150)), now=NOON_20TH, page_size=100)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data")


def resources(sim: Sim, data: DataDir) -> dict[str, Any]:
    return {"report_api": ReportApiResource(base_url=sim.base_url, max_connections=4),
            "data_dir": DataDirResource(path=str(data.root))}


def materialize(instance: dg.DagsterInstance, sim: Sim, data: DataDir, start: str, end: str | None = None,
                selection: list[str] | None = None, raise_on_error: bool = True,
                **config: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [ledger_entries], instance=instance, resources=resources(sim, data), selection=selection,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end or start},
        run_config={"ops": {"ledger_entries": {"config": config}}}, raise_on_error=raise_on_error,
    )


def warehouse_rows(data: DataDir, table: str, where: str = "TRUE") -> list[tuple]:
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        return connection.execute(
            f"SELECT {', '.join(COLUMNS[:1])}, CAST(ledger_date AS VARCHAR), {', '.join(COLUMNS[2:])} FROM {table} "
            f"WHERE {where} ORDER BY ledger_id, ledger_date, position").fetchall()


def lake_rows(data: DataDir, topic: str, ledger_date: str, ledger_id: str | None = None) -> list[tuple]:
    table = pq.read_table(data.lake_dir / topic / f"ledger_date={ledger_date}" / "part-0.parquet")
    if ledger_id is not None:
        table = table.filter(pc.equal(table.column("ledger_id"), ledger_id))
    return [tuple(str(v) if c == "ledger_date" else v for c, v in zip(COLUMNS, row, strict=True))
            for row in zip(*(table.column(c).to_pylist() for c in COLUMNS), strict=True)]


def api_rows(sim: Sim, ledger_id: str, topic: str, ledger_date: str, is_open: bool = False) -> list[tuple]:
    with ReportApiClient(settings_for(sim)) as client:
        entries = client.read_date(ledger_id, topic, ledger_date).entries()
    return [(ledger_id, ledger_date, n, e["pspReference"], e["entryType"], e["amount"], e["balanceBefore"],
             e["balanceAfter"], is_open, "simulator") for n, e in enumerate(entries, start=1)]


def latest_metadata(instance: dg.DagsterInstance, table: str, partition: str) -> dict[str, Any]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[partition]), limit=1).records
    assert records, f"{table} {partition} was never materialized"
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def reads(sim: Sim) -> Counter[str]:
    return Counter(sim.ledger_days_read())


def test_a_date_range_lands_in_both_stores_as_the_api_serves_it(instance, sim: Sim, data: DataDir) -> None:
    result = materialize(instance, sim, data, "2026-11-17", "2026-11-19")
    assert result.success and len(instance.get_runs()) == 1
    for topic, table in (("funds", "funds_ledger"), ("fees", "fees_ledger")):
        for day in ("2026-11-17", "2026-11-18", "2026-11-19"):
            expected = [row for ledger in LEDGERS for row in api_rows(sim, ledger, topic, day)]
            assert expected  # every ledger had entries that day
            assert warehouse_rows(data, table, f"ledger_date = DATE '{day}'") == expected
            assert lake_rows(data, topic, day) == expected  # one file of the date, sorted by ledger
        assert instance.get_materialized_partitions(dg.AssetKey(table)) == {"2026-11-17", "2026-11-18", "2026-11-19"}
    meta = latest_metadata(instance, "funds_ledger", "2026-11-18")
    funds = warehouse_rows(data, "funds_ledger", "ledger_date = DATE '2026-11-18'")
    assert meta["dagster/row_count"] == len(funds)
    assert (meta["ledgers_tracked"], meta["ledgers_stored_closed"], meta["ledgers_failed"]) == (3, 3, 0)
    captured = {ledger: sum(r[5] for r in funds if r[0] == ledger and r[4] == "capture") for ledger in LEDGERS}
    assert meta["captured_NOK"] == pytest.approx(captured["302321"] / 100)  # money per currency, major units
    assert meta["captured_DKK"] == pytest.approx(captured["405512"] / 100)
    assert meta["captured_EUR"] == pytest.approx(captured["517734"] / 100)
    assert all(ledger in meta["the_date"] for ledger in LEDGERS)
    assert latest_metadata(instance, "payouts", "2026-11-18")["ledgers"] >= 1
    assert not list(data.lake_dir.rglob("*.tmp"))


def test_rerunning_a_date_fetches_only_what_is_not_stored_closed(instance, sim: Sim, data: DataDir) -> None:
    first = materialize(instance, sim, data, "2026-11-19", "2026-11-20")  # the 20th is open
    assert first.success
    assert check_record(instance, first.run_id) == {  # every check, on each date it checked, and nothing planned
        (key.asset_key.to_user_string(), key.name, day): "ran" for key in ledger_entries.check_keys
        for day in ("2026-11-19", "2026-11-20")}
    before = reads(sim)
    stored = warehouse_rows(data, "funds_ledger", "ledger_date = DATE '2026-11-19'")
    again_run = materialize(instance, sim, data, "2026-11-19", "2026-11-20")
    assert again_run.success
    record = check_record(instance, again_run.run_id)
    assert {k for k, status in record.items() if status == "ran"} == {  # the 19th was not fetched: not checked
        (key.asset_key.to_user_string(), key.name, day) for key in ledger_entries.check_keys
        for day in ("2026-11-19", "2026-11-20") if day == "2026-11-20" or key.name == "all_tracked_ledgers_stored"}
    again = reads(sim) - before
    assert set(again) == {f"{ledger} {topic} 2026-11-20" for ledger in LEDGERS for topic in ("funds", "fees")}
    assert warehouse_rows(data, "funds_ledger", "ledger_date = DATE '2026-11-19'") == stored
    meta = latest_metadata(instance, "funds_ledger", "2026-11-19")
    assert (meta["ledgers_skipped_closed"], meta["ledgers_stored_closed"]) == (3, 0)
    before = reads(sim)
    assert materialize(instance, sim, data, "2026-11-19", refetch=True).success  # asked for: read again
    assert set(reads(sim) - before) == {f"{ledger} {topic} 2026-11-19" for ledger in LEDGERS
                                        for topic in ("funds", "fees")}


def check_record(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str, str | None], str]:
    """What the instance's check history holds for a run: (asset, check, date) -> ran or planned (the UI's
    "skipped" once the run is over)."""
    record = {}
    for key in ledger_entries.check_keys:
        for execution in instance.event_log_storage.get_asset_check_execution_history(key, limit=1000):
            if execution.run_id == run_id:
                ran = execution.status.value in ("SUCCEEDED", "FAILED")
                record[(key.asset_key.to_user_string(), key.name, execution.partition)] = "ran" if ran else "planned"
    return record


def test_a_run_narrowed_to_one_ledger_replaces_only_its_rows(instance, sim: Sim, data: DataDir) -> None:
    assert materialize(instance, sim, data, "2026-11-18").success
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        fetched_before = dict(connection.execute(
            "SELECT ledger_id, max(fetched_at) FROM funds_ledger GROUP BY 1").fetchall())
    others = [r for r in warehouse_rows(data, "funds_ledger") if r[0] != "405512"]
    before = reads(sim)
    assert materialize(instance, sim, data, "2026-11-18", ledger_ids=["405512"], refetch=True).success
    assert set(reads(sim) - before) == {"405512 funds 2026-11-18", "405512 fees 2026-11-18"}
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        fetched_after = dict(connection.execute(
            "SELECT ledger_id, max(fetched_at) FROM funds_ledger GROUP BY 1").fetchall())
    assert fetched_after["405512"] > fetched_before["405512"]
    assert {k: v for k, v in fetched_after.items() if k != "405512"} == {
        k: v for k, v in fetched_before.items() if k != "405512"}
    assert [r for r in warehouse_rows(data, "funds_ledger") if r[0] != "405512"] == others
    assert [r for r in lake_rows(data, "funds", "2026-11-18") if r[0] != "405512"] == others
    assert lake_rows(data, "funds", "2026-11-18", "405512") == api_rows(sim, "405512", "funds", "2026-11-18")
    assert warehouse_rows(data, "funds_ledger") == lake_rows(data, "funds", "2026-11-18")
    meta = latest_metadata(instance, "funds_ledger", "2026-11-18")  # the date's file: every ledger, not one
    assert meta["dagster/row_count"] == len(warehouse_rows(data, "funds_ledger"))
    assert all(ledger in meta["the_date"] for ledger in LEDGERS)
    summary = latest_metadata(instance, "daily_fee_summary", "2026-11-18")
    assert summary["dagster/row_count"] == summary["ledgers"] == len(LEDGERS)


def test_a_ledger_the_keys_cannot_read_is_refused_by_name(instance, sim: Sim, data: DataDir) -> None:
    result = materialize(instance, sim, data, "2026-11-18", ledger_ids=["999999"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = str(failure.step_failure_data.error)
    assert "999999 cannot be read" in message and "302321, 405512, 517734" in message
    assert not data.warehouse.exists()


def test_an_open_date_is_stored_marked_open_and_closes_on_a_later_run(instance, sim: Sim, data: DataDir) -> None:
    assert materialize(instance, sim, data, "2026-11-20", selection=["funds_ledger", "fees_ledger"]).success
    meta = latest_metadata(instance, "funds_ledger", "2026-11-20")
    morning = warehouse_rows(data, "funds_ledger", "ledger_id = '302321'")
    assert meta["ledgers_stored_open"] == 3 and meta["ledgers_stored_closed"] == 0
    assert morning and all(row[8] is True for row in morning)
    sim.control(advance_seconds=24 * 3600)
    assert materialize(instance, sim, data, "2026-11-20", selection=["funds_ledger", "fees_ledger"]).success
    closed = warehouse_rows(data, "funds_ledger", "ledger_id = '302321'")
    assert latest_metadata(instance, "funds_ledger", "2026-11-20")["ledgers_stored_closed"] == 3
    assert len(closed) > len(morning) and all(row[8] is False for row in closed)
    assert [row[3:8] for row in closed[: len(morning)]] == [row[3:8] for row in morning]
    assert closed[-1][4] == "payout-scheduled"


def test_one_failing_ledger_day_leaves_the_others_stored_fails_the_check_and_the_next_run_repairs_it(
    instance, sim: Sim, data: DataDir
) -> None:
    sim.control(corruptions=[{"ledger_id": "405512", "topic": "funds", "ledger_date": "2026-11-18", "page": 1,
                              "kind": "chain-broken"}])
    result = materialize(instance, sim, data, "2026-11-17", "2026-11-18", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = str(failure.step_failure_data.error)
    assert "ledger 405512 on 2026-11-18" in message and "balance chain broken" in message
    stored = stored_checks(instance, result.run_id)  # recorded per date: the date with the failed ledger-day fails
    assert stored["2026-11-17"].passed and not stored["2026-11-18"].passed
    assert stored["2026-11-18"].metadata["missing_or_failed"].value == ["405512"]
    assert "re-run this date" in stored["2026-11-18"].description
    meta = latest_metadata(instance, "funds_ledger", "2026-11-18")  # the date is materialized, failure shown
    assert (meta["ledgers_stored_closed"], meta["ledgers_failed"], meta["failed_ledgers"]) == (2, 1, ["405512"])
    assert {r[0] for r in warehouse_rows(data, "funds_ledger", "ledger_date = DATE '2026-11-18'")} == {
        "302321", "517734"}
    assert {r[0] for r in warehouse_rows(data, "fees_ledger", "ledger_date = DATE '2026-11-18'")} == {
        "302321", "517734"}  # a ledger-day is stored whole (both topics) or not at all
    sim.control(corruptions=[])
    before = reads(sim)
    repaired = materialize(instance, sim, data, "2026-11-17", "2026-11-18")
    assert repaired.success
    assert set(reads(sim) - before) == {"405512 funds 2026-11-18", "405512 fees 2026-11-18"}
    assert lake_rows(data, "funds", "2026-11-18", "405512") == api_rows(sim, "405512", "funds", "2026-11-18")
    assert all(check.passed for check in stored_checks(instance, repaired.run_id).values())


def stored_checks(instance: dg.DagsterInstance, run_id: str) -> dict[str | None, dg.AssetCheckEvaluation]:
    return {e.partition: e for e in check_evaluations(instance, run_id)
            if e.asset_check_key.name == "all_tracked_ledgers_stored"}


def test_simulator_data_is_never_written_into_a_production_directory(instance, sim: Sim, data: DataDir) -> None:
    data.claim("production")
    result = materialize(instance, sim, data, "2026-11-18", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "holds production data; refusing to write simulator data" in str(failure.step_failure_data.error)
    assert not data.lake_dir.exists() and not data.warehouse.exists()
    with pytest.raises(MixedSourcesError, match="REPORT_ASSETS_DATA_DIR"):
        data.claim("simulator")


# -- crashes and locks: real processes, killed or blocked at exact points ----------------------------------


def cli_env(sim: Sim, home: Path, data: DataDir, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORT_API_", "REPORT_ASSETS_"))}
    return {**env, "DAGSTER_HOME": str(home), "REPORT_API_BASE_URL": sim.base_url,
            "REPORT_ASSETS_DATA_DIR": str(data.root), **extra}


def cli_home(tmp_path: Path) -> Path:
    home = tmp_path / "cli_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))):
        pass  # its storage is created here, not by two CLI processes racing to create it
    return home


def cli_materialize(env: dict[str, str], partition: str, select: str = "*", log: Path | None = None,
                    location: str = "report_assets.definitions") -> subprocess.Popen[str]:
    """The dagster CLI in its own process; its log is piped to us, or written to ``log``. A partition
    ``first...last`` is a range, run as one run."""
    which = "--partition-range" if "..." in partition else "--partition"
    return subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", location, "--select", select, which, partition],
        env=env, stdout=log.open("w") if log else subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


CRASHING = "report_assets_tests.crash_location"  # the project's definitions with a test's crash hooks


def finish(process: subprocess.Popen[str]) -> int:
    """Waits for the process, reading all it prints (a full pipe would block it forever)."""
    process.communicate(timeout=180)
    return process.returncode


@pytest.mark.integration
@pytest.mark.parametrize("crash_at", ["after-parquet", "inside-duckdb"])
def test_a_crash_mid_write_leaves_every_ledger_of_the_date_whole_and_a_rerun_repairs(
    tmp_path: Path, sim: Sim, data: DataDir, crash_at: str
) -> None:
    home = cli_home(tmp_path)
    assert finish(cli_materialize(cli_env(sim, home, data), "2026-11-20", select="funds_ledger,fees_ledger")) == 0
    old = warehouse_rows(data, "funds_ledger")
    assert {r[0] for r in old} == set(LEDGERS)
    sim.control(advance_seconds=3 * 3600)  # the open day has grown: the next version differs
    # The step would be retried after a minute (and crash again): no step retries for this run.
    crashed = cli_materialize(cli_env(sim, home, data, CRASH_AT=crash_at, REPORT_ASSETS_STEP_RETRIES="0"),
                              "2026-11-20", select="funds_ledger,fees_ledger", location=CRASHING)
    assert finish(crashed) != 0
    assert warehouse_rows(data, "funds_ledger") == old  # the previous version of every ledger, whole
    new_lake = lake_rows(data, "funds", "2026-11-20")
    assert {r[0] for r in new_lake} == set(LEDGERS) and len(new_lake) > len(old)  # the lake: new, whole
    assert not list(data.lake_dir.rglob("*.tmp"))
    assert finish(cli_materialize(cli_env(sim, home, data), "2026-11-20", select="funds_ledger,fees_ledger")) == 0
    assert warehouse_rows(data, "funds_ledger") == lake_rows(data, "funds", "2026-11-20") == new_lake


@pytest.mark.integration
def test_a_run_killed_midway_has_reported_only_whole_stored_dates_and_a_rerun_fetches_the_rest(
    tmp_path: Path, sim: Sim, data: DataDir
) -> None:
    """Materializations are written as each batch of dates is stored, not held until the step ends; storing
    runs ahead of reporting, never behind. After a crash every date the instance reports is whole in both
    stores, and a re-run fetches exactly the ledger-days the status file does not record as stored."""
    home = cli_home(tmp_path)
    dates = {f"2026-11-{d}" for d in range(12, 18)}
    crashed = cli_materialize(cli_env(sim, home, data, REPORT_ASSETS_WAREHOUSE_BATCH="2",
                                      REPORT_ASSETS_IN_PROCESS_UP_TO="0",  # a backfill's child process, killed
                                      CRASH_AT="after-first-batch", REPORT_ASSETS_STEP_RETRIES="0"),
                              "2026-11-12...2026-11-17", select="funds_ledger,fees_ledger", location=CRASHING)
    assert finish(crashed) != 0
    recorded = {day for day, state in data.status.states("2026-11-12", "2026-11-17").items() if state.stored}
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        reported = instance.get_materialized_partitions(dg.AssetKey("funds_ledger"))
    assert reported and reported <= {day.ledger_date for day in recorded}
    stored = {row[1] for row in warehouse_rows(data, "funds_ledger")}
    for day in reported:  # whole dates (3 ledgers = a batch), in both stores
        assert day in stored and {r[0] for r in lake_rows(data, "funds", day)} == set(LEDGERS)
    before = reads(sim)
    assert finish(cli_materialize(cli_env(sim, home, data), "2026-11-12...2026-11-17",
                                  select="funds_ledger,fees_ledger")) == 0
    fetched = {tuple(key.split()[:3]) for key in reads(sim) - before}  # (ledger, topic, date)
    assert fetched == {(day.ledger_id, topic, day.ledger_date) for day in
                       {LedgerDay(d, i) for d in dates for i in LEDGERS} - recorded for topic in ("funds", "fees")}
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey("funds_ledger")) == dates


@pytest.mark.integration
def test_a_run_waits_for_an_analysts_session_and_concurrent_writers_both_succeed(
    tmp_path: Path, sim: Sim, data: DataDir
) -> None:
    home = cli_home(tmp_path)
    data.root.mkdir(parents=True)
    analyst = duckdb.connect(str(data.warehouse))  # an analyst's read-write session holds the file
    runs = [cli_materialize(cli_env(sim, home, data), "2026-11-15"),
            cli_materialize(cli_env(sim, home, data), "2026-11-15...2026-11-16", log=tmp_path / "second.log")]
    waiting = []
    for line in runs[0].stdout:  # read the run's log until it says it is waiting for the lock
        if "is open in another process" in line:
            waiting.append(line)
            break
    analyst.close()
    assert waiting and "lake_views.duckdb" in waiting[0]
    assert f"(PID {os.getpid()}: " in waiting[0]  # the holder named: this test's process
    runs[0].communicate(timeout=180)  # drain the rest of its log so that it never blocks on a full pipe
    assert [run.wait(timeout=180) for run in runs] == [0, 0]
    for day in ("2026-11-15", "2026-11-16"):  # two runs on one date: neither lost the other's rows
        expected = [row for ledger in LEDGERS for row in api_rows(sim, ledger, "funds", day)]
        assert lake_rows(data, "funds", day) == warehouse_rows(data, "funds_ledger", f"ledger_date = '{day}'") \
            == expected


# -- settings and credentials --------------------------------------------------------------------------------

LOAD = "from report_assets.definitions import defs; r = defs().resources['report_api']; print(r.source, r.base_url)"


def load_definitions(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REPORT_API_", "REPORT_ASSETS_"))}
    return subprocess.run([sys.executable, "-c", LOAD], env={**base, **env}, capture_output=True, text=True,
                          cwd=tmp_path)


@pytest.mark.integration
def test_with_no_credentials_the_code_location_uses_the_simulator_and_loading_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    loaded = load_definitions(tmp_path, DAGSTER_HOME=str(home), REPORT_ASSETS_DATA_DIR=str(tmp_path / "data"))
    assert loaded.returncode == 0 and loaded.stdout.split() == ["simulator", "None"]
    assert list(home.iterdir()) == [] and not (tmp_path / "data").exists()


@pytest.mark.integration
def test_dg_check_defs_passes() -> None:
    dg_cli = Path(sys.executable).parent / "dg"
    checked = subprocess.run([str(dg_cli), "check", "defs"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if not k.startswith("REPORT_")})
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr


@pytest.mark.integration
@pytest.mark.parametrize(("name", "value", "allowed"), [
    ("REPORT_ASSETS_WAREHOUSE_BATCH", "abc", "a whole number"),
    ("REPORT_ASSETS_START_DATE", "2026-13-45", "YYYY-MM-DD"),
    ("REPORT_ASSETS_TIMEZONE", "Mars/Olympus", "IANA time zone"),
    ("REPORT_ASSETS_INCLUDE_GDPR", "maybe", "true or false"),
    ("REPORT_ASSETS_LEDGER_IDS", "302321,abc", "comma-separated list of ledger IDs"),
])
def test_a_bad_setting_stops_the_load_naming_the_variable(tmp_path: Path, name: str, value: str,
                                                          allowed: str) -> None:
    loaded = load_definitions(tmp_path, **{name: value})
    assert loaded.returncode != 0
    assert f"{name}={value!r} is not valid: expected" in loaded.stderr and allowed in loaded.stderr
    first = loaded.stderr[:loaded.stderr.index("Traceback")]  # the sentence comes first, then the traceback
    assert f"error: {name}={value!r} is not valid: expected" in first


@pytest.mark.integration
def test_partial_credentials_stop_the_load_naming_what_is_missing(tmp_path: Path) -> None:
    loaded = load_definitions(tmp_path, REPORT_API_CLIENT_ID="id", REPORT_API_SUBSCRIPTION_KEY="key")
    assert loaded.returncode != 0
    assert "REPORT_API_CLIENT_SECRET not set" in loaded.stderr[:loaded.stderr.index("Traceback")]
    loaded = load_definitions(tmp_path, REPORT_API_BASE_URL="https://api.vipps.no")
    assert loaded.returncode != 0 and "no credentials are set" in loaded.stderr[:loaded.stderr.index("Traceback")]


@pytest.mark.integration
def test_full_credentials_read_production_through_env_vars_never_their_values(tmp_path: Path) -> None:
    code = ("from report_assets.definitions import defs; r = defs().resources['report_api']; "
            "print(r.source, r.base_url, type(r.client_secret).__name__, r.client_secret.env_var_name, repr(r))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("REPORT_API_")}
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={
        **base, "REPORT_API_CLIENT_ID": "id-1", "REPORT_API_CLIENT_SECRET": "the-real-secret",
        "REPORT_API_SUBSCRIPTION_KEY": "the-real-key"})
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split()[:4] == ["production", "https://api.vipps.no", "EnvVar", "REPORT_API_CLIENT_SECRET"]
    assert "the-real-secret" not in loaded.stdout + loaded.stderr
    assert "the-real-key" not in loaded.stdout + loaded.stderr
