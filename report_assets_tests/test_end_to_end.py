"""End to end: the real dagster-webserver and dagster-daemon, a backfill launched through GraphQL, with a merchant's
keys set against a production-like simulator (no /_simulator/ paths, no bank: the user brings the statements)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.dagster_run import RunRecord

from report_assets.defs.automation.books_sensor import books_computed
from report_assets.defs.automation.schedules import hourly_ledger_refresh
from report_assets.defs.resources import DataDirResource
from report_assets.settings import ENV_LOOKBACK
from report_assets.simulator.bank import camt053
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import Sim, SimFactory, project_settings
from report_assets_tests.services import dagster_services as services
from report_assets_tests.services import graphql, reading, until
from report_assets_tests.test_production_mode import MERCHANT, dagster, production_env, simulator_paths

pytestmark = pytest.mark.system  # real servers: webserver and daemon, PostgreSQL, an S3-compatible store

LEDGERS = ["302321", "405512", "517734"]
DATES = [f"2026-11-{d}" for d in range(14, 21)]
NOON_20TH = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
ASSETS = ["funds_ledger", "fees_ledger", "daily_fee_summary", "daily_payout_summary", "payouts", "journal_lines"]
LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status } ... on PythonError { message } } }"""


Services = tuple[str, Path, Path, Sim, dict[str, str]]


def start_services(start_simulator: SimFactory, tmp_path: Path, **settings: str) -> Iterator[Services]:
    sim = start_simulator(World(ledgers=default_ledgers(3, 60)), now=NOON_20TH, credentials=MERCHANT,
                          production_like=True)
    # The partitions start on the 14th: the history the discovery sensor asks for new ledgers stays short.
    env = production_env(sim, tmp_path) | {"REPORT_ASSETS_START_DATE": DATES[0], **settings}
    home, data = Path(env["DAGSTER_HOME"]), Path(env["REPORT_ASSETS_DATA_DIR"])
    # The merchant's bank statements of the month so far, in the bank folder as the user puts them there.
    (data / "bank").mkdir(parents=True)
    for ledger_id in LEDGERS:
        statement = camt053(sim.state.generators[ledger_id], 2026, 11, date(2026, 11, 19), NOON_20TH)
        (data / "bank" / f"{ledger_id}-2026-11.xml").write_bytes(statement)
    with services(env, tmp_path) as url:
        yield url, home, data, sim, env


@pytest.fixture
def dagster_services(start_simulator: SimFactory, tmp_path: Path) -> Iterator[Services]:
    yield from start_services(start_simulator, tmp_path)


def launch_backfill(url: str, dates: list[str]) -> str:
    """A backfill of the ledger assets over ``dates``, launched as the UI launches it; waits for it to finish."""
    launched = graphql(url, LAUNCH, {"params": {"partitionNames": dates,
                                                "assetSelection": [{"path": [a]} for a in ASSETS]}})
    assert launched["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["launchPartitionBackfill"]["backfillId"]

    def finished() -> str | None:
        status = graphql(url, STATUS, {"id": backfill_id})["partitionBackfillOrError"].get("status")
        return status if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED") \
            else None

    assert until(finished, 600, "the backfill") in ("COMPLETED", "COMPLETED_SUCCESS")
    return backfill_id


def books_newer_than_ledgers(instance: dg.DagsterInstance) -> bool:
    """The newest books were computed (their run started) after the newest ledger-day was stored."""
    ledgers = max(instance.get_latest_materialization_event(dg.AssetKey(a)).timestamp for a in ASSETS)
    return books_computed(instance) > ledgers


def test_a_backfill_launched_through_graphql_runs_in_the_daemon_as_one_run(
    dagster_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, home, data, sim, env = dagster_services
    backfill_id = launch_backfill(url, DATES)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        # Single-run policy: one run for the 7 dates of every ledger, not one run per partition.
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
        for asset in ASSETS:
            assert set(DATES) <= instance.get_materialized_partitions(dg.AssetKey(asset)), asset
        with reading(data) as connection:
            window = f"ledger_date BETWEEN DATE '{DATES[0]}' AND DATE '{DATES[-1]}'"
            for table in ("funds_ledger", "fees_ledger", "daily_fee_summary", "daily_payout_summary"):
                days = connection.execute(
                    f"SELECT count(DISTINCT (ledger_id, ledger_date)) FROM {table} WHERE {window}").fetchone()
                assert days[0] == len(DATES) * len(LEDGERS), table
            scheduled = connection.execute(f"SELECT count(*) FROM funds_ledger WHERE {window} "
                                           "AND entry_type = 'payout-scheduled'").fetchone()[0]
            assert connection.execute(f"SELECT count(*) FROM payouts WHERE {window}").fetchone()[0] == scheduled > 0
        for day in DATES:  # one file per date, every ledger in it
            assert (data / "lake" / "funds" / f"ledger_date={day}" / "part-0.parquet").exists()
        # The discovery sensor, ticking in the daemon, recorded each ledger's currency and time zone, and asked
        # for the history of the ledgers it found new, in a run of its own.
        catalog = until(lambda: instance.get_latest_materialization_event(dg.AssetKey("ledger_catalog")), 120,
                        "the ledger discovery sensor")
        table = catalog.asset_materialization.metadata["ledgers"].value
        assert {(r.data["ledger_id"], r.data["currency"], r.data["timezone"]) for r in table.records} == {
            ("302321", "NOK", "Europe/Oslo"), ("405512", "DKK", "Europe/Copenhagen"),
            ("517734", "EUR", "Europe/Helsinki")}

        def history_done() -> list[dg.DagsterRun]:
            found = instance.get_runs(dg.RunsFilter(tags={"report_assets/new_ledgers": "3"}))
            return found if found and found[0].status in (dg.DagsterRunStatus.SUCCESS,
                                                          dg.DagsterRunStatus.FAILURE) else []

        (history,) = until(history_done, 300, "the history run of the new ledgers")
        assert history.status == dg.DagsterRunStatus.SUCCESS
        # The books follow: the run-status sensor, ticking in the daemon, asked for a run of the books after the
        # ledger runs, which matched the payouts to the user's bank statements and wrote the month's statement.

        def books_done() -> list[dg.DagsterRun]:
            found = instance.get_runs(dg.RunsFilter(job_name="recompute_books"))
            return [r for r in found if r.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)]

        books_run = until(books_done, 300, "a run of the books after the ledger runs")[0]
        assert books_run.status == dg.DagsterRunStatus.SUCCESS
        assert books_run.tags["dagster/sensor_name"] == "books_after_ledger_runs"
        with reading(data) as connection:
            months = connection.execute("SELECT DISTINCT ledger_id FROM monthly_statement WHERE month = "
                                        "'2026-11'").fetchall()
            assert sorted(m[0] for m in months) == LEDGERS
            assert connection.execute("SELECT count(*) FROM bank_matches WHERE status = 'matched'").fetchone()[0] > 0
        assert history.run_config["ops"]["ledger_entries"]["config"]["ledger_ids"] == LEDGERS
        # A range re-run from a shell, as the README shows it (`--select '*'`): its own books step is skipped, and
        # the sensor, seeing ledger-days newer than the books, recomputes them within a minute of its end.
        dagster(env, "--select", "*", "--partition-range", "2026-11-18...2026-11-19")
        assert not books_newer_than_ledgers(instance)
        until(lambda: books_newer_than_ledgers(instance), 60, "the books after `dagster asset materialize`")
        # Webserver, daemon, sensors and runs all used the keys, and asked nothing production does not serve.
        assert "POST /accesstoken/get" in sim.requests() and simulator_paths(sim) == []
        assert (data / ".source").read_text().strip() == "production"
        # The schedule, evaluated against the running instance: only the open day is left in its window.
        schedule = hourly_ledger_refresh(project_settings(**{ENV_LOOKBACK: "6"}))  # 2026-11-14 .. 2026-11-20
        tick = datetime(2026, 11, 20, 12, 17, tzinfo=UTC)
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                       resources={"data_dir": DataDirResource(path=str(data))}) as context:
            request = schedule.evaluate_tick(context).run_requests[0]
        assert request.tags["dagster/asset_partition_range_start"] == "2026-11-20"
        assert request.tags["dagster/asset_partition_range_end"] == "2026-11-20"


@pytest.fixture
def thirty_dates_a_run_each(start_simulator: SimFactory, tmp_path: Path) -> Iterator[Services]:
    yield from start_services(start_simulator, tmp_path, REPORT_ASSETS_START_DATE="2026-10-22",
                              REPORT_ASSETS_BACKFILL_DATES_PER_RUN="1")


def test_a_thirty_run_backfill_is_followed_by_books_in_one_recompute(thirty_dates_a_run_each: Services) -> None:
    """30 runs of one date each: the books wait while ledger runs are queued or running (at most a few minutes),
    then catch up in one run shortly after the last, holding every date stored."""
    url, home, data, _, _ = thirty_dates_a_run_each
    dates = [f"2026-10-{d}" for d in range(22, 32)] + [f"2026-11-{d:02d}" for d in range(1, 21)]
    backfill_id = launch_backfill(url, dates)
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        ledger_runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        assert len(ledger_runs) == 30
        last_end = max(r.end_time or 0 for r in ledger_runs)

        def books_after_last_run() -> list[RunRecord]:
            found = instance.get_run_records(dg.RunsFilter(job_name="recompute_books",
                                                           statuses=[dg.DagsterRunStatus.SUCCESS]))
            return [r for r in found if r.create_timestamp.timestamp() >= last_end]

        (_,) = until(books_after_last_run, last_end + 180 - time.time(), "the books after the backfill's last run")
        assert books_newer_than_ledgers(instance)
        books_runs = instance.get_run_records(dg.RunsFilter(job_name="recompute_books"))
        # Coalesced: far fewer recomputes than ledger runs (one every few minutes at most while they ran).
        assert len(books_runs) <= 4, [r.create_timestamp for r in books_runs]
    with reading(data) as connection:
        stored = dict(connection.execute("SELECT month, sum(days_stored) FROM monthly_statement GROUP BY ALL")
                      .fetchall())
    # Every backfilled ledger-day is in the books (the discovery sensor's history run may have stored later ones).
    assert stored["2026-10"] == 10 * 3 and stored["2026-11"] >= 20 * 3
