"""The hourly schedule asks for open and new ledger-days only, and the run it asks for fetches only those."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from report_assets.assets.ledgers import ledger_entries
from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME
from report_assets.automation.schedules import ENV_LOOKBACK, hourly_ledger_refresh
from report_assets.resources import DataDirResource, ReportApiResource
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import Sim, SimFactory

LEDGERS = ["302321", "405512", "517734"]
NOON_20TH = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
TICK = datetime(2026, 11, 20, 12, 17, tzinfo=UTC)  # 13:17 in Oslo


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def resources(sim: Sim, tmp_path: Path) -> dict[str, Any]:
    return {"report_api": ReportApiResource(base_url=sim.base_url),
            "data_dir": DataDirResource(path=str(tmp_path / "data"))}


def materialized_keys(result: dg.ExecuteInProcessResult, asset: str) -> set[str]:
    return {e.materialization.partition for e in result.get_asset_materialization_events()
            if e.materialization.asset_key == dg.AssetKey(asset)}


def test_the_schedule_fetches_open_and_new_ledger_days_and_never_a_closed_one(
    start_simulator: SimFactory, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_LOOKBACK, "3")  # the window is 2026-11-17 .. 2026-11-20
    sim = start_simulator(World(ledgers=default_ledgers(3, 80)), now=NOON_20TH)
    instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, LEDGERS)
    assert dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path), tags={
        "dagster/asset_partition_range_start": "2026-11-18|302321",
        "dagster/asset_partition_range_end": "2026-11-20|517734"}).success  # the 20th is open
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK,
                                        resources={"data_dir": resources(sim, tmp_path)["data_dir"]})
    requests = hourly_ledger_refresh.evaluate_tick(context).run_requests
    assert requests is not None and len(requests) == 1
    request = requests[0]
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-17|302321"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-20|517734"
    assert request.run_config == {"ops": {"ledger_entries": {"config": {"skip_closed": True}}}}
    before = sim.stats()["requests"]["dates"]
    result = dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path),
                            tags=request.tags, run_config=request.run_config)
    assert result.success
    expected = {f"{day}|{ledger}" for day in ("2026-11-17", "2026-11-20") for ledger in LEDGERS}
    assert materialized_keys(result, "funds_ledger") == materialized_keys(result, "fees_ledger") == expected
    assert sim.stats()["requests"]["dates"] - before == len(expected) * 2  # one page per topic per day


def test_the_schedule_skips_when_everything_is_closed_or_no_ledger_is_known(
    start_simulator: SimFactory, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_LOOKBACK, "1")
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK,
                                        resources={"data_dir": DataDirResource(path=str(tmp_path / "data"))})
    assert "No ledgers known" in (hourly_ledger_refresh.evaluate_tick(context).skip_message or "")
    sim = start_simulator(World(ledgers=default_ledgers(1, 50)), now=datetime(2026, 11, 22, tzinfo=UTC))
    instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, ["302321"])
    assert dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path), tags={
        "dagster/asset_partition_range_start": "2026-11-19|302321",
        "dagster/asset_partition_range_end": "2026-11-20|302321"}).success  # both closed by the 22nd
    assert "stored and closed" in (hourly_ledger_refresh.evaluate_tick(context).skip_message or "")


def test_a_bad_page_fails_the_step_without_retrying_it(
    start_simulator: SimFactory, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    sim = start_simulator(World(ledgers=default_ledgers(1, 50)), now=NOON_20TH)
    sim.control(corruptions=[{"ledger_id": "302321", "topic": "funds", "ledger_date": "2026-11-18", "page": 1,
                              "kind": "balance-mismatch"}])
    instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, ["302321"])
    result = dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path),
                            partition_key="2026-11-18|302321", raise_on_error=False)
    assert not result.success
    kinds = [e.event_type for e in result.all_events]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds and kinds.count(dg.DagsterEventType.STEP_FAILURE) == 1
