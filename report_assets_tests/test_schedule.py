"""The hourly schedule asks for the dates with a tracked ledger-day due, and its run fetches only those."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from report_assets.defs.automation.schedules import due_dates, hourly_ledger_refresh
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import refresh_catalog
from report_assets.report_api import ReportApiClient
from report_assets.settings import ENV_LOOKBACK
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import LEDGER_STEP as ledger_entries
from report_assets_tests.conftest import Sim, SimFactory, project_settings, settings_for

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


def tick(instance: dg.DagsterInstance, tmp_path: Path, lookback_days: int) -> dg.RunRequest | dg.SkipReason:
    schedule = hourly_ledger_refresh(project_settings(**{ENV_LOOKBACK: str(lookback_days)}))
    # As a context manager: it closes the instance and resources it opens, not left to the garbage collector.
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK,
                                   resources={"data_dir": DataDirResource(path=str(tmp_path / "data"))}) as context:
        result = schedule.evaluate_tick(context)
    return result.run_requests[0] if result.run_requests else dg.SkipReason(result.skip_message)


def run(instance: dg.DagsterInstance, sim: Sim, tmp_path: Path, first: str, last: str) -> None:
    assert dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path), tags={
        "dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}).success


def test_the_schedule_asks_for_exactly_the_due_dates_and_its_run_fetches_only_the_due_ledger_days(
    start_simulator: SimFactory, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    # A look-back of 4: the window is 2026-11-16 .. 2026-11-20
    sim = start_simulator(World(ledgers=default_ledgers(3, 80)), now=NOON_20TH)
    run(instance, sim, tmp_path, "2026-11-17", "2026-11-20")  # the 20th is open
    sim.control(corruptions=[{"ledger_id": "517734", "topic": "fees", "ledger_date": "2026-11-18", "page": 1,
                              "kind": "balance-mismatch"}])
    assert not dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path),
                              partition_key="2026-11-18", run_config={"ops": {"ledger_entries": {"config": {
                                  "ledger_ids": ["517734"], "refetch": True}}}}, raise_on_error=False).success
    sim.control(corruptions=[])
    look_back_4 = project_settings(**{ENV_LOOKBACK: "4"})
    due = {plan.ledger_date: plan.fetch for plan in due_dates(DataDir(tmp_path / "data"), TICK, look_back_4)}
    # Never fetched (the 16th), failed on the last try (517734 on the 18th), still open (the 20th).
    assert due == {"2026-11-16": LEDGERS, "2026-11-18": ["517734"], "2026-11-20": LEDGERS}
    request = tick(instance, tmp_path, 4)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-16"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-20"
    assert request.tags["report_assets/ledger_days_due"] == "7"
    before = Counter(sim.ledger_days_read())
    result = dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path),
                            tags=request.tags, run_config=request.run_config)
    assert result.success
    fetched = {tuple(key.split()[::2]) for key in Counter(sim.ledger_days_read()) - before}
    assert fetched == {(ledger, day) for day, ledgers in due.items() for ledger in ledgers}


def test_the_schedule_skips_when_no_ledger_is_known_or_everything_is_closed(
    start_simulator: SimFactory, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    assert "No ledgers known" in (tick(instance, tmp_path, 1).skip_message or "")
    sim = start_simulator(World(ledgers=default_ledgers(1, 50)), now=datetime(2026, 11, 22, tzinfo=UTC))
    run(instance, sim, tmp_path, "2026-11-19", "2026-11-20")  # both closed by the 22nd
    assert "stored and closed" in (tick(instance, tmp_path, 1).skip_message or "")


def test_a_ledger_new_to_the_catalog_is_due_on_every_date_of_the_window_and_only_it(
    start_simulator: SimFactory, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    sim = start_simulator(World(ledgers=default_ledgers(3, 50)), now=datetime(2026, 11, 22, tzinfo=UTC))
    sim.control(accessible_ledgers=["302321", "405512"])
    run(instance, sim, tmp_path, "2026-11-18", "2026-11-20")
    data = DataDir(tmp_path / "data")
    sim.control(accessible_ledgers=LEDGERS)  # a merchant granted access
    with ReportApiClient(settings_for(sim)) as client:
        refresh_catalog(client.list_ledgers(), data.lake, "Europe/Oslo", TICK, {})
    due = {plan.ledger_date: plan.fetch for plan in due_dates(data, TICK, project_settings(**{ENV_LOOKBACK: "2"}))}
    assert due == {"2026-11-18": ["517734"], "2026-11-19": ["517734"], "2026-11-20": ["517734"]}


def test_a_bad_page_fails_the_step_without_retrying_it(
    start_simulator: SimFactory, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    sim = start_simulator(World(ledgers=default_ledgers(1, 50)), now=NOON_20TH)
    sim.control(corruptions=[{"ledger_id": "302321", "topic": "funds", "ledger_date": "2026-11-18", "page": 1,
                              "kind": "balance-mismatch"}])
    result = dg.materialize([ledger_entries], instance=instance, resources=resources(sim, tmp_path),
                            partition_key="2026-11-18", raise_on_error=False)
    assert not result.success
    kinds = [e.event_type for e in result.all_events]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds and kinds.count(dg.DagsterEventType.STEP_FAILURE) == 1
