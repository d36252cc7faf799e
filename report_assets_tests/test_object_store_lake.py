"""The Parquet lake in a real S3-compatible object store (SeaweedFS on loopback, ``object_store.py``): what lands
there, how analysts read it, two machines sharing it, the warehouse loaded from it, and the store going away.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
import pytest
from dagster._core.instance.ref import InstanceRef

from report_assets.defs.ledgers.assets import ledger_step
from report_assets.defs.partitions import ledger_dates
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.defs.warehouse.load_job import load_warehouse_job
from report_assets.lake.data_dir import DataDir, MixedSourcesError
from report_assets.lake.ledger_catalog import read_catalog
from report_assets.lake.parquet_lake import ParquetLake
from report_assets.lake.store import ObjectStore
from report_assets.main_job import refresh_lake_views
from report_assets.pipeline.warehouse_load import load_warehouse
from report_assets.settings import SettingError, load_settings
from report_assets.simulator.object_store import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedS3, seaweed_s3
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import RULES, Sim, SimFactory, project_settings
from report_assets_tests.services import until
from report_assets_tests.test_assets import (
    COLUMNS,
    LEDGERS,
    NOON_20TH,
    api_rows,
    cli_env,
    cli_home,
    cli_materialize,
    latest_metadata,
    reads,
    warehouse_rows,
)

pytestmark = pytest.mark.system  # real servers: webserver and daemon, PostgreSQL, an S3-compatible store

TABLES = ("funds_ledger", "fees_ledger", "daily_fee_summary", "daily_payout_summary", "payouts", "journal_lines")
SUMMARY_ASSETS = ",".join(TABLES)
# No step retries: a store that stays down fails the run at once, for the test to see.
SETTINGS = project_settings(REPORT_ASSETS_STEP_RETRIES="0")
ledger_entries = ledger_step(SETTINGS, ledger_dates(SETTINGS))


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeaweedS3]:
    with seaweed_s3(tmp_path / "seaweedfs") as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def sim(start_simulator: SimFactory) -> Sim:
    return start_simulator(World(ledgers=default_ledgers(3, 60)), now=NOON_20TH, page_size=100)


def fresh_instance(home: Path) -> dg.DagsterInstance:
    home.mkdir(parents=True)
    return dg.instance_for_test(temp_dir=str(home))


def object_lake(tmp_path: Path, name: str, prefix: str = "lake") -> DataDir:
    return DataDir(tmp_path / name, f"s3://{BUCKET}/{prefix}", lake_retry_seconds=180)


def materialize(instance: dg.DagsterInstance, sim: Sim, data: DataDir, start: str, end: str,
                raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [ledger_entries], instance=instance, raise_on_error=raise_on_error,
        resources={"report_api": ReportApiResource(base_url=sim.base_url, max_connections=4),
                   "data_dir": DataDirResource(path=str(data.root), lake_url=data.lake_url)},
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end})


def lake_rows(data: DataDir, topic: str, ledger_date: str) -> list[tuple]:
    table = data.lake.read_date(topic, ledger_date)
    assert table is not None, f"{topic} {ledger_date} is not in the lake"
    return [tuple(str(v) if c == "ledger_date" else v for c, v in zip(COLUMNS, row, strict=True))
            for row in zip(*(table.column(c).to_pylist() for c in COLUMNS), strict=True)]


def test_dates_land_in_the_object_store_as_the_api_serves_them_and_analysts_read_them_there(
        s3: SeaweedS3, sim: Sim, tmp_path: Path) -> None:
    data = object_lake(tmp_path, "data")
    with fresh_instance(tmp_path / "home") as instance:
        assert materialize(instance, sim, data, "2026-11-17", "2026-11-19").success
        meta = latest_metadata(instance, "funds_ledger", "2026-11-18")
    expected_total = 0
    for topic, table in (("funds", "funds_ledger"), ("fees", "fees_ledger")):
        for day in ("2026-11-17", "2026-11-18", "2026-11-19"):
            expected = api_date(sim, day, topic)
            assert expected and lake_rows(data, topic, day) == expected
            assert warehouse_rows(data, table, f"ledger_date = DATE '{day}'") == expected
            expected_total += len(expected) if topic == "funds" else 0
    assert not data.lake_dir.exists()  # nothing of the lake on this machine's disk
    assert meta["parquet_path"] == f"s3://{BUCKET}/lake/funds/ledger_date=2026-11-18/part-0.parquet"
    assert set(read_catalog(data.lake)) == set(LEDGERS)
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:  # the catalog, copied in
        assert {r[0] for r in connection.sql("SELECT ledger_id FROM ledgers").fetchall()} == set(LEDGERS)

    # An analyst with the same AWS_* variables reads the lake with Polars, straight from the store.
    funds = pl.scan_parquet(data.lake.glob("funds")).select(pl.len(), pl.col("amount").sum()).collect()
    assert funds.row(0) == (expected_total, sum(r[5] for r in warehouse_rows(data, "funds_ledger")))

    # ... or builds the lake views with DuckDB from the script, which names the store and holds no key.
    refresh_lake_views(data)
    script = data.lake_views_script.read_text()
    statements = duckdb.extract_statements(script)  # parses as DuckDB SQL
    assert len(statements) > 10 and not data.lake_views.exists()
    assert f"read_parquet('s3://{BUCKET}/lake/funds/ledger_date=*/part-0.parquet'" in script
    assert f"ENDPOINT '127.0.0.1:{s3.ports['s3']}'" in script and "PROVIDER credential_chain" in script
    assert "COMMENT ON COLUMN funds_ledger.amount_major" in script
    assert ACCESS_KEY not in script and SECRET_KEY not in script


def test_two_writers_merging_one_date_file_never_lose_each_others_rows(s3: SeaweedS3) -> None:
    """A conditional PUT: the writer whose read is stale is refused, reads again, and merges into the new file."""
    mine, theirs = ObjectStore(f"s3://{BUCKET}/race", 30), ObjectStore(f"s3://{BUCKET}/race", 30)
    key = "funds/ledger_date=2026-11-18/part-0.parquet"
    mine.write(key, pa.table({"ledger_id": ["A"]}))
    seen: list[list[str]] = []

    def add_b(old: pa.Table | None) -> pa.Table:
        assert old is not None
        seen.append(old.column("ledger_id").to_pylist())
        if len(seen) == 1:  # between this writer's read and its write, another machine adds C
            theirs.update(key, lambda other: pa.concat_tables([other, pa.table({"ledger_id": ["C"]})]))
        return pa.concat_tables([old, pa.table({"ledger_id": ["B"]})])

    mine.update(key, add_b)
    assert seen == [["A"], ["A", "C"]]  # refused once, then merged into the other machine's version
    assert ParquetLake(mine).store.read(key).column("ledger_id").to_pylist() == ["A", "C", "B"]


def test_runs_on_many_machines_share_the_lake_never_a_warehouse_file_and_the_loaded_warehouse_is_one_machines(
        s3: SeaweedS3, sim: Sim, tmp_path: Path) -> None:
    """Three machines (separate processes, separate disks) back 2026-11-15 to 19 at once: A two ledgers to the
    17th, C the same two from the 18th, B the third ledger throughout. Every date file then holds all three ledgers
    as the API serves them, each machine's warehouse only its own, and the warehouse loaded from the lake equals
    the one a single machine builds: the summaries across A's and C's edge are recomputed with both sides."""
    machines = {"a": ("302321,405512", "2026-11-15...2026-11-17"), "b": ("517734", "2026-11-15...2026-11-19"),
                "c": ("302321,405512", "2026-11-18...2026-11-19")}
    data_of = {name: object_lake(tmp_path, f"machine-{name}") for name in machines}
    runs = []
    for name, (ledgers, dates) in machines.items():
        (tmp_path / name).mkdir()
        env = cli_env(sim, cli_home(tmp_path / name), data_of[name], REPORT_ASSETS_LEDGER_IDS=ledgers,
                      REPORT_ASSETS_LAKE_URL=data_of[name].lake_url, REPORT_ASSETS_STEP_RETRIES="0")
        runs.append(cli_materialize(env, dates, select=SUMMARY_ASSETS, log=tmp_path / name / "log"))
    assert [run.wait(timeout=300) for run in runs] == [0, 0, 0]
    days = [f"2026-11-{d}" for d in range(15, 20)]
    for topic in ("funds", "fees"):
        for day in days:
            assert lake_rows(data_of["a"], topic, day) == api_date(sim, day, topic)
    for name, (ledgers, dates) in machines.items():  # each machine's warehouse: its own file, ledgers and dates
        first, last = dates.split("...")
        assert {(r[0], r[1]) for r in warehouse_rows(data_of[name], "funds_ledger")} == {
            (r[0], r[1]) for day in days if first <= day <= last for r in api_date(sim, day)
            if r[0] in ledgers.split(",")}
    assert len({data.warehouse for data in data_of.values()}) == 3

    one_machine = DataDir(tmp_path / "one-machine")  # the reference: the same dates, one run, local lake
    with fresh_instance(tmp_path / "one-machine-home") as instance:
        assert materialize(instance, sim, one_machine, days[0], days[-1]).success
    warehouse_machine = object_lake(tmp_path, "warehouse-machine")
    with fresh_instance(tmp_path / "warehouse-machine-home") as instance:  # the warehouse step, as a Dagster job
        loaded = load_warehouse_job(SETTINGS).execute_in_process(instance=instance, resources={
            "data_dir": DataDirResource(path=str(warehouse_machine.root), lake_url=warehouse_machine.lake_url)})
    [output] = [e for e in loaded.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    meta = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert (meta["files_loaded"], meta["ledger_days_resummarized"], meta["dates"]) == (
        len(TABLES) * len(days), len(LEDGERS) * len(days), f"{days[0]} to {days[-1]}")
    assert warehouse_rows(warehouse_machine, "funds_ledger") == warehouse_rows(one_machine, "funds_ledger")
    edge = "ledger_id = '302321' AND ledger_date = DATE '2026-11-18'"
    print(f"\npayouts of C's first date as C computed them: {table_rows(data_of['c'], 'payouts', edge)}; "
          f"as one machine does: {table_rows(one_machine, 'payouts', edge)}")
    for table in TABLES[2:]:
        assert table_rows(warehouse_machine, table) == table_rows(one_machine, table), table
    with duckdb.connect(str(warehouse_machine.warehouse), read_only=True) as connection:
        closed = connection.execute("SELECT count(*) FROM ledger_day_status WHERE topic = 'funds' AND NOT is_open "
                                    "AND entries > 0").fetchall()[0][0]
    assert closed == len(LEDGERS) * len(days)
    again = load_warehouse(warehouse_machine, RULES, say=lambda _: None)  # nothing changed: nothing loaded
    assert (again.loaded, again.summarized, again.unchanged) == ({}, 0, len(TABLES) * len(days))


def table_rows(data: DataDir, table: str, where: str = "TRUE") -> list[tuple]:
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        return connection.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY ALL").fetchall()


def test_an_object_store_down_for_a_while_is_waited_for_and_one_down_too_long_fails_naming_the_dates(
        s3: SeaweedS3, sim: Sim, tmp_path: Path) -> None:
    data = object_lake(tmp_path, "data")
    home = cli_home(tmp_path)
    env = cli_env(sim, home, data, REPORT_ASSETS_LAKE_URL=data.lake_url, REPORT_ASSETS_STEP_RETRIES="0")
    first = cli_materialize(env, "2026-11-17", select=SUMMARY_ASSETS, log=tmp_path / "first.log")
    assert first.wait(timeout=300) == 0
    before = {key: s3_bytes(s3, data, key) for key in data.lake.store.keys("")}

    # Down while a run starts: the run keeps retrying the store, and goes on once it is back.
    s3.stop()
    run = cli_materialize(env, "2026-11-18", select=SUMMARY_ASSETS, log=tmp_path / "waiting.log")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        until_step_started(instance)
    s3.start()
    assert run.wait(timeout=300) == 0
    assert lake_rows(data, "funds", "2026-11-18") == api_date(sim, "2026-11-18")

    # Down for longer than REPORT_ASSETS_LAKE_RETRY_SECONDS: the run fails, naming its dates and what to do.
    s3.stop()
    failed = cli_materialize({**env, "REPORT_ASSETS_LAKE_RETRY_SECONDS": "3"}, "2026-11-19", select=SUMMARY_ASSETS,
                             log=tmp_path / "failed.log")
    assert failed.wait(timeout=300) != 0
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        run = instance.get_runs(limit=1)[0]
        assert run.status == dg.DagsterRunStatus.FAILURE
        [failure] = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
        message = failure.event_log_entry.dagster_event.event_specific_data.error.message
    assert "ledger dates 2026-11-19 to 2026-11-19" in message and "re-run these dates" in message
    assert SECRET_KEY not in message and ACCESS_KEY not in message
    s3.start()
    assert {key: s3_bytes(s3, data, key) for key in before} == before  # what was stored is whole, as it was
    assert data.lake.read_date("funds", "2026-11-19") is None  # and nothing of the failed date is visible
    again = cli_materialize(env, "2026-11-19", select=SUMMARY_ASSETS, log=tmp_path / "again.log")
    assert again.wait(timeout=300) == 0
    assert lake_rows(data, "funds", "2026-11-19") == api_date(sim, "2026-11-19")


def api_date(sim: Sim, day: str, topic: str = "funds") -> list[tuple]:
    return [row for ledger in LEDGERS for row in api_rows(sim, ledger, topic, day)]


def s3_bytes(s3: SeaweedS3, data: DataDir, key: str) -> bytes:
    path = re.sub(r"^s3://", "", data.lake.store.uri(key))
    with s3.filesystem().open_input_stream(path) as stream:
        return stream.read()


def until_step_started(instance: dg.DagsterInstance) -> None:
    """Waits until the run's ledger step has begun: from then on it needs the store."""
    def started() -> bool:
        runs = instance.get_runs(limit=1)
        return bool(runs) and bool(instance.get_records_for_run(
            runs[0].run_id, of_type=dg.DagsterEventType.STEP_START).records)
    until(started, 120, "the run's step to start")



@pytest.mark.parametrize(("url", "expected"), [
    ("s3://settlements/lake/", "s3://settlements/lake"),
    ("gs://settlements", "gs://settlements"),
    ("", ""),  # the default: the lake in the data directory
])
def test_a_lake_url_names_a_bucket_and_a_prefix(url: str, expected: str) -> None:
    assert load_settings({"REPORT_ASSETS_LAKE_URL": url}).lake_url == expected


@pytest.mark.parametrize("url", ["/srv/lake", "s3://", "s3://bucket/lake?versioning=1", "ftp://bucket/lake"])
def test_a_lake_url_that_is_not_an_object_store_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(SettingError, match=f"REPORT_ASSETS_LAKE_URL='{re.escape(url)}' is not valid: expected s3://"):
        load_settings({"REPORT_ASSETS_LAKE_URL": url})


def test_a_lake_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(SettingError) as refused:
        load_settings({"REPORT_ASSETS_LAKE_URL": f"s3://{ACCESS_KEY}:{SECRET_KEY}@settlements/lake"})
    assert "credentials do not belong in the URL" in str(refused.value) and "AWS_ACCESS_KEY_ID" in str(refused.value)
    assert SECRET_KEY not in str(refused.value) and ACCESS_KEY not in str(refused.value)


def test_a_shared_lake_of_another_source_or_world_is_refused_before_anything_is_written(
        s3: SeaweedS3, tmp_path: Path) -> None:
    object_lake(tmp_path, "first", prefix="claimed").claim("simulator", {"seed": 2026})
    with pytest.raises(MixedSourcesError, match=r"holds simulator data of another world \(seed 2026\); this run "
                                                r"reads seed 7\. .* REPORT_ASSETS_LAKE_URL"):
        object_lake(tmp_path, "second", prefix="claimed").claim("simulator", {"seed": 7})
    with pytest.raises(MixedSourcesError, match="holds simulator data; refusing to write production data"):
        object_lake(tmp_path, "third", prefix="claimed").claim("production", {"keys": "ab12"})
    assert not (tmp_path / "second").exists() and not (tmp_path / "third").exists()  # refused before any write
    object_lake(tmp_path, "fourth", prefix="claimed").claim("simulator", {"seed": 2026})  # the same world: welcome
    assert (tmp_path / "fourth" / ".source").read_text() == "simulator\n"


def test_a_machine_sharing_the_lake_fetches_only_what_no_machine_stored_closed(
        s3: SeaweedS3, sim: Sim, tmp_path: Path) -> None:
    """The ledger-day status is in the lake with it: a second machine (a fresh data directory, as a run pod's
    scratch disk is) knows what the first stored closed, and so does the schedule on a third."""
    first, second = object_lake(tmp_path, "first"), object_lake(tmp_path, "second")
    with fresh_instance(tmp_path / "first-home") as instance:
        assert materialize(instance, sim, first, "2026-11-17", "2026-11-18").success
    before = reads(sim)
    with fresh_instance(tmp_path / "second-home") as instance:
        assert materialize(instance, sim, second, "2026-11-17", "2026-11-19").success
    fetched = reads(sim) - before
    assert sorted(fetched) == sorted(f"{i} {topic} 2026-11-19" for i in LEDGERS for topic in ("funds", "fees"))
    assert not (second.root / "ledger_days.sqlite3").exists() and not (first.root / "ledger_days.sqlite3").exists()
    states = object_lake(tmp_path, "third").status.states("2026-11-16", "2026-11-19")
    assert {(day.ledger_date, state.stored) for day, state in states.items()} == {
        ("2026-11-17", "closed"), ("2026-11-18", "closed"), ("2026-11-19", "closed")}
    assert len(states) == 3 * len(LEDGERS)
