"""The ledger assets in a real Dagster instance, writing real Parquet and DuckDB files in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from dagster._core.instance.ref import InstanceRef

from report_assets.assets.ledgers import ledger_entries
from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME
from report_assets.data_dir import DataDir, MixedSourcesError
from report_assets.report_api import ReportApiClient
from report_assets.resources import DataDirResource, ReportApiResource
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import Sim, SimFactory, settings_for

LEDGERS = ["302321", "405512", "517734"]
NOON_20TH = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # 12:00 in Oslo: 2026-11-20 is today, and open


@pytest.fixture
def sim(start_simulator: SimFactory) -> Sim:
    return start_simulator(World(ledgers=default_ledgers(3, 150)), now=NOON_20TH, page_size=100)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, LEDGERS)
        yield instance


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data")


def resources(sim: Sim, data: DataDir) -> dict[str, Any]:
    return {"report_api": ReportApiResource(base_url=sim.base_url, max_connections=4),
            "data_dir": DataDirResource(path=str(data.root))}


def materialize(instance: dg.DagsterInstance, sim: Sim, data: DataDir, start: str, end: str | None = None,
                selection: list[str] | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [ledger_entries], instance=instance, resources=resources(sim, data), selection=selection,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end or start},
    )


def warehouse_rows(data: DataDir, table: str, where: str = "TRUE") -> list[tuple]:
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        return connection.execute(
            f"SELECT ledger_id, CAST(ledger_date AS VARCHAR), position, psp_reference, entry_type, amount, "
            f"balance_before, balance_after, is_open, source FROM {table} WHERE {where} "
            "ORDER BY ledger_id, ledger_date, position").fetchall()


def lake_rows(data: DataDir, topic: str, ledger_id: str, ledger_date: str) -> list[tuple]:
    path = data.lake / topic / f"ledger_id={ledger_id}" / f"ledger_date={ledger_date}" / "part-0.parquet"
    table = pq.read_table(path)
    columns = ["ledger_id", "ledger_date", "position", "psp_reference", "entry_type", "amount", "balance_before",
               "balance_after", "is_open", "source"]
    return [tuple(str(v) if c == "ledger_date" else v for c, v in zip(columns, row, strict=True))
            for row in zip(*(table.column(c).to_pylist() for c in columns), strict=True)]


def latest_metadata(instance: dg.DagsterInstance, table: str, partition: str) -> dict[str, Any]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[partition]), limit=1).records
    assert records, f"{table} {partition} was never materialized"
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def test_a_partition_lands_in_both_stores_as_the_api_sent_it(instance, sim: Sim, data: DataDir) -> None:
    assert materialize(instance, sim, data, "2026-11-18|405512").success
    with ReportApiClient(settings_for(sim)) as client:
        entries = client.read_date("405512", "funds", "2026-11-18").entries()
    expected = [("405512", "2026-11-18", n, e["pspReference"], e["entryType"], e["amount"], e["balanceBefore"],
                 e["balanceAfter"], False, "simulator") for n, e in enumerate(entries, start=1)]
    assert warehouse_rows(data, "funds_ledger") == expected
    assert lake_rows(data, "funds", "405512", "2026-11-18") == expected
    meta = latest_metadata(instance, "funds_ledger", "2026-11-18|405512")
    assert meta["dagster/row_count"] == len(entries) and meta["is_open"] is False and meta["source"] == "simulator"
    by_type: dict[str, int] = {}
    for e in entries:
        by_type[e["entryType"]] = by_type.get(e["entryType"], 0) + e["amount"]
    assert meta["amount_by_entry_type"] == dict(sorted(by_type.items()))
    assert meta["amount_total"] == sum(by_type.values())
    assert meta["closing_balance"] == entries[-1]["balanceAfter"] == 2_500_000
    schema = ledger_entries.specs_by_key[dg.AssetKey("funds_ledger")].metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns][:3] == ["ledger_id", "psp_reference", "time"]
    assert meta["dagster/table_name"] == "warehouse.main.funds_ledger"
    assert len(warehouse_rows(data, "fees_ledger")) == latest_metadata(
        instance, "fees_ledger", "2026-11-18|405512")["dagster/row_count"] > 0


def test_rematerializing_replaces_exactly_that_ledger_day(instance, sim: Sim, data: DataDir) -> None:
    assert materialize(instance, sim, data, "2026-11-17|302321", "2026-11-18|302321").success
    before = warehouse_rows(data, "fees_ledger")
    assert materialize(instance, sim, data, "2026-11-18|302321").success
    after = warehouse_rows(data, "fees_ledger")
    assert after == before
    assert len({row[:3] for row in after}) == len(after)  # (ledger, date, position) once each
    assert {row[1] for row in after} == {"2026-11-17", "2026-11-18"}


def test_a_backfill_of_a_rectangle_is_one_run(instance, sim: Sim, data: DataDir) -> None:
    result = materialize(instance, sim, data, "2026-11-14|302321", "2026-11-19|517734")
    assert result.success
    assert len(instance.get_runs()) == 1
    expected = {f"2026-11-{d}|{ledger}" for d in range(14, 20) for ledger in LEDGERS}
    for table in ("funds_ledger", "fees_ledger"):
        assert instance.get_materialized_partitions(dg.AssetKey(table)) == expected
        slices = {(r[0], r[1]) for r in warehouse_rows(data, table)}
        assert {f"{d}|{lg}" for lg, d in slices} == expected


def test_an_open_date_is_stored_marked_open_and_closes_on_a_later_run(instance, sim: Sim, data: DataDir) -> None:
    assert materialize(instance, sim, data, "2026-11-20|302321", selection=["funds_ledger"]).success
    meta = latest_metadata(instance, "funds_ledger", "2026-11-20|302321")
    morning = warehouse_rows(data, "funds_ledger")
    assert meta["is_open"] is True and "open" in meta["ledger_date_status"]
    assert morning and all(row[8] is True for row in morning)
    sim.control(advance_seconds=24 * 3600)
    assert materialize(instance, sim, data, "2026-11-20|302321", selection=["funds_ledger"]).success
    closed = warehouse_rows(data, "funds_ledger")
    assert latest_metadata(instance, "funds_ledger", "2026-11-20|302321")["is_open"] is False
    assert len(closed) > len(morning) and all(row[8] is False for row in closed)
    assert [row[3:8] for row in closed[: len(morning)]] == [row[3:8] for row in morning]
    assert closed[-1][4] == "payout-scheduled"


def test_a_failing_ledger_day_does_not_stop_the_others_and_is_not_marked_materialized(
    instance, sim: Sim, data: DataDir
) -> None:
    sim.control(corruptions=[{"ledger_id": "405512", "topic": "funds", "ledger_date": "2026-11-18", "page": 1,
                              "kind": "chain-broken"}])
    result = dg.materialize([ledger_entries], instance=instance, resources=resources(sim, data),
                            selection=["funds_ledger"], raise_on_error=False,
                            tags={"dagster/asset_partition_range_start": "2026-11-18|302321",
                                  "dagster/asset_partition_range_end": "2026-11-18|517734"})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = str(failure.step_failure_data.error)
    assert "funds_ledger 2026-11-18|405512" in message and "balance chain broken" in message
    assert instance.get_materialized_partitions(dg.AssetKey("funds_ledger")) == {
        "2026-11-18|302321", "2026-11-18|517734"}
    assert {r[0] for r in warehouse_rows(data, "funds_ledger")} == {"302321", "517734"}


def test_simulator_data_is_never_written_into_a_production_directory(instance, sim: Sim, data: DataDir) -> None:
    data.claim("production")
    result = dg.materialize([ledger_entries], instance=instance, resources=resources(sim, data),
                            raise_on_error=False, partition_key="2026-11-18|302321")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "holds production data; refusing to write simulator data" in str(failure.step_failure_data.error)
    assert not data.lake.exists() and not data.warehouse.exists()
    with pytest.raises(MixedSourcesError, match="REPORT_ASSETS_DATA_DIR"):
        data.claim("simulator")


# -- crashes and locks: real processes, killed or blocked at exact points ----------------------------------


def cli_env(sim: Sim, home: Path, data: DataDir, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORT_API_")}
    return {**env, "DAGSTER_HOME": str(home), "REPORT_API_BASE_URL": sim.base_url,
            "REPORT_ASSETS_DATA_DIR": str(data.root), **extra}


def cli_home(tmp_path: Path) -> Path:
    home = tmp_path / "cli_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, LEDGERS)
    return home


def cli_materialize(env: dict[str, str], partition: str, select: str = "funds_ledger",
                    log: Path | None = None) -> subprocess.Popen[str]:
    """The dagster CLI in its own process; its log is piped to us, or written to ``log``. A partition
    ``first...last`` is a range, run as one run."""
    which = "--partition-range" if "..." in partition else "--partition"
    return subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "report_assets.definitions",
         "--select", select, which, partition],
        env=env, stdout=log.open("w") if log else subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen[str]) -> int:
    """Waits for the process, reading all it prints (a full pipe would block it forever)."""
    process.communicate(timeout=180)
    return process.returncode


@pytest.mark.parametrize("crash_at", ["after-parquet", "inside-duckdb"])
def test_a_crash_mid_write_leaves_the_previous_version_whole_and_a_rerun_repairs(
    tmp_path: Path, sim: Sim, data: DataDir, crash_at: str
) -> None:
    home = cli_home(tmp_path)
    key = "2026-11-20|302321"
    first = cli_materialize(cli_env(sim, home, data), key)
    assert finish(first) == 0
    old = warehouse_rows(data, "funds_ledger")
    sim.control(advance_seconds=3 * 3600)  # the open day has grown: the next version differs
    # The step would be retried after a minute (and crash again): no step retries for this run.
    crashed = cli_materialize(cli_env(sim, home, data, REPORT_ASSETS_CRASH_AT=crash_at,
                                      REPORT_ASSETS_STEP_RETRIES="0"), key)
    assert finish(crashed) != 0
    assert warehouse_rows(data, "funds_ledger") == old  # the previous version, whole, no duplicates
    new_lake = lake_rows(data, "funds", "302321", "2026-11-20")
    assert len(new_lake) > len(old)  # the lake holds the new version, whole
    assert not list(data.lake.rglob("*.tmp"))
    rerun = cli_materialize(cli_env(sim, home, data), key)
    assert finish(rerun) == 0
    assert warehouse_rows(data, "funds_ledger") == lake_rows(data, "funds", "302321", "2026-11-20") == new_lake


def test_a_run_killed_midway_has_reported_every_batch_it_stored(tmp_path: Path, sim: Sim, data: DataDir) -> None:
    """Materializations are written as each batch is stored, not held until the step ends: after a crash
    the instance knows exactly which ledger-days landed, so a backfill of the missing ones fetches only those."""
    home = cli_home(tmp_path)
    crashed = cli_materialize(cli_env(sim, home, data, REPORT_ASSETS_WAREHOUSE_BATCH="2",
                                      REPORT_ASSETS_CRASH_AT="after-first-batch", REPORT_ASSETS_STEP_RETRIES="0"),
                              "2026-11-12|302321...2026-11-17|302321")
    assert finish(crashed) != 0
    stored = {f"{row[1]}|302321" for row in warehouse_rows(data, "funds_ledger")}
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        reported = instance.get_materialized_partitions(dg.AssetKey("funds_ledger"))
    assert 2 <= len(stored) < 6 and reported == stored  # a batch is 2 or more ledger-days, as they complete


def test_a_run_waits_for_an_analysts_session_and_concurrent_writers_both_succeed(
    tmp_path: Path, sim: Sim, data: DataDir
) -> None:
    home = cli_home(tmp_path)
    data.root.mkdir(parents=True)
    analyst = duckdb.connect(str(data.warehouse))  # an analyst's read-write session holds the file
    runs = [cli_materialize(cli_env(sim, home, data), "2026-11-15|405512", select="*"),
            cli_materialize(cli_env(sim, home, data), "2026-11-16|405512", select="*", log=tmp_path / "second.log")]
    waiting = []
    for line in runs[0].stdout:  # read the run's log until it says it is waiting for the lock
        if "is locked by another process" in line:
            waiting.append(line)
            break
    analyst.close()
    assert waiting and "lake_views.duckdb" in waiting[0]
    runs[0].communicate(timeout=180)  # drain the rest of its log so that it never blocks on a full pipe
    assert [run.wait(timeout=180) for run in runs] == [0, 0]
    dates = {row[1] for row in warehouse_rows(data, "funds_ledger")} | {
        row[1] for row in warehouse_rows(data, "fees_ledger")}
    assert dates == {"2026-11-15", "2026-11-16"}


# -- credentials -----------------------------------------------------------------------------------------

LOAD = "from report_assets.definitions import defs; r = defs.resources['report_api']; print(r.source, r.base_url)"


def load_definitions(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REPORT_API_")}
    return subprocess.run([sys.executable, "-c", LOAD], env={**base, **env}, capture_output=True, text=True,
                          cwd=tmp_path)


def test_with_no_credentials_the_code_location_uses_the_simulator(tmp_path: Path) -> None:
    loaded = load_definitions(tmp_path)
    assert loaded.returncode == 0 and loaded.stdout.split() == ["simulator", "None"]


def test_partial_credentials_stop_the_load_naming_what_is_missing(tmp_path: Path) -> None:
    loaded = load_definitions(tmp_path, REPORT_API_CLIENT_ID="id", REPORT_API_SUBSCRIPTION_KEY="key")
    assert loaded.returncode != 0
    assert "REPORT_API_CLIENT_SECRET not set" in loaded.stderr
    loaded = load_definitions(tmp_path, REPORT_API_BASE_URL="https://api.vipps.no")
    assert loaded.returncode != 0 and "no credentials are set" in loaded.stderr


def test_full_credentials_read_production_through_env_vars_never_their_values(tmp_path: Path) -> None:
    code = ("from report_assets.definitions import defs; r = defs.resources['report_api']; "
            "print(r.source, r.base_url, type(r.client_secret).__name__, r.client_secret.env_var_name, repr(r))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("REPORT_API_")}
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={
        **base, "REPORT_API_CLIENT_ID": "id-1", "REPORT_API_CLIENT_SECRET": "the-real-secret",
        "REPORT_API_SUBSCRIPTION_KEY": "the-real-key"})
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split()[:4] == ["production", "https://api.vipps.no", "EnvVar", "REPORT_API_CLIENT_SECRET"]
    assert "the-real-secret" not in loaded.stdout + loaded.stderr
    assert "the-real-key" not in loaded.stdout + loaded.stderr
