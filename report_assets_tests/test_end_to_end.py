"""End to end: the real dagster-webserver and dagster-daemon, a backfill launched through GraphQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest
from dagster._core.instance.ref import InstanceRef

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME
from report_assets.automation.schedules import ENV_LOOKBACK, hourly_ledger_refresh
from report_assets.data_dir import PROJECT_ROOT
from report_assets.resources import DataDirResource
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import SimFactory, free_port

LEDGERS = ["302321", "405512", "517734"]
DATES = [f"2026-11-{d}" for d in range(14, 21)]
NOON_20TH = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
ASSETS = ["funds_ledger", "fees_ledger", "daily_fee_summary", "daily_payout_summary", "payouts"]
LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status } ... on PythonError { message } } }"""


def until(condition: Any, seconds: float, what: str) -> Any:
    """Polls ``condition`` (a server's state, over HTTP) until it holds; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture
def dagster_services(start_simulator: SimFactory, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    sim = start_simulator(World(ledgers=default_ledgers(3, 60)), now=NOON_20TH)
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, LEDGERS)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REPORT_API_")},
           "DAGSTER_HOME": str(home), "REPORT_API_BASE_URL": sim.base_url, "REPORT_ASSETS_DATA_DIR": str(data),
           "REPORT_ASSETS_STEP_RETRIES": "0"}
    bin_dir = Path(sys.executable).parent
    port = free_port()
    logs = [open(tmp_path / name, "w") for name in ("webserver.log", "daemon.log")]  # noqa: SIM115
    processes = [
        subprocess.Popen([shutil.which("dagster-webserver", path=str(bin_dir)) or "dagster-webserver",
                          "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                         cwd=PROJECT_ROOT, env=env, stdout=logs[0], stderr=subprocess.STDOUT),
        subprocess.Popen([shutil.which("dagster-daemon", path=str(bin_dir)) or "dagster-daemon", "run",
                          "-w", "workspace.yaml"], cwd=PROJECT_ROOT, env=env, stdout=logs[1], stderr=subprocess.STDOUT),
    ]
    try:
        yield f"http://127.0.0.1:{port}", home, data
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=60)
    response.raise_for_status()
    return response.json()["data"]


def test_a_backfill_launched_through_graphql_runs_in_the_daemon_as_one_run(
    dagster_services: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, home, data = dagster_services

    def serving() -> bool:
        try:
            return httpx.get(f"{url}/server_info", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    until(serving, 120, "the webserver")
    partitions = [f"{day}|{ledger}" for day in DATES for ledger in LEDGERS]
    launched = graphql(url, LAUNCH, {"params": {"partitionNames": partitions,
                                                "assetSelection": [{"path": [a]} for a in ASSETS]}})
    assert launched["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["launchPartitionBackfill"]["backfillId"]

    def finished() -> str | None:
        status = graphql(url, STATUS, {"id": backfill_id})["partitionBackfillOrError"].get("status")
        return status if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED") \
            else None

    assert until(finished, 300, "the backfill") in ("COMPLETED", "COMPLETED_SUCCESS")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        # Single-run policy: the daemon launches one run per ledger for the 7 dates (a date x ledger range is
        # contiguous only within one ledger), not one run per partition.
        assert len(runs) == len(LEDGERS) and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        for asset in ASSETS:
            assert set(partitions) <= instance.get_materialized_partitions(dg.AssetKey(asset)), asset
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
            window = f"ledger_date BETWEEN DATE '{DATES[0]}' AND DATE '{DATES[-1]}'"  # an hourly tick may add days
            for table in ("funds_ledger", "fees_ledger", "daily_fee_summary", "daily_payout_summary"):
                days = connection.execute(
                    f"SELECT count(DISTINCT (ledger_id, ledger_date)) FROM {table} WHERE {window}").fetchone()
                assert days[0] == len(partitions), table
            scheduled = connection.execute(f"SELECT count(*) FROM funds_ledger WHERE {window} "
                                           "AND entry_type = 'payout-scheduled'").fetchone()[0]
            assert connection.execute(f"SELECT count(*) FROM payouts WHERE {window}").fetchone()[0] == scheduled > 0
        # The discovery sensor, ticking in the daemon, recorded each ledger's currency and time zone.
        catalog = until(lambda: instance.get_latest_materialization_event(dg.AssetKey("ledger_catalog")), 120,
                        "the ledger discovery sensor")
        table = catalog.asset_materialization.metadata["ledgers"].value
        assert {(r.data["ledger_id"], r.data["currency"], r.data["timezone"]) for r in table.records} == {
            ("302321", "NOK", "Europe/Oslo"), ("405512", "DKK", "Europe/Copenhagen"),
            ("517734", "EUR", "Europe/Helsinki")}
        for ledger in LEDGERS:
            lake = data / "lake" / "funds" / f"ledger_id={ledger}"
            assert {f"ledger_date={d}" for d in DATES} <= {p.name for p in lake.iterdir()}
        # The schedule, evaluated against the running instance: only the new day and the open day.
        monkeypatch.setenv(ENV_LOOKBACK, "7")
        tick = datetime(2026, 11, 20, 12, 17, tzinfo=UTC)
        request = hourly_ledger_refresh.evaluate_tick(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                      resources={"data_dir": DataDirResource(path=str(data))})).run_requests[0]
        assert request.tags["dagster/asset_partition_range_start"] == "2026-11-13|302321"
        from report_assets.automation.closed_days import closed_ledger_days

        window = [f"2026-11-{d}|{ledger}" for d in range(13, 21) for ledger in LEDGERS]
        open_or_new = set(window) - closed_ledger_days(instance, window)
        assert open_or_new == {f"2026-11-{d}|{ledger}" for d in (13, 20) for ledger in LEDGERS}
