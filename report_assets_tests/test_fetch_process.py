"""Fetch processes beside the child that stores: they take a share of the jobs, change nothing that is stored,
share the run's token, and a dead one costs only its unfinished ledger-days, which the next run fetches."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import duckdb

from report_assets.lake.data_dir import DataDir
from report_assets.pipeline.fetch_process import ProcessPool
from report_assets.pipeline.fetching import Done, FetchJob
from report_assets.pipeline.ingest_process import ingest
from report_assets.pipeline.ingestion import BatchOutcome, IngestOptions, fetch_and_store
from report_assets.pipeline.planning import DatePlan
from report_assets.pipeline.spawned import settings_recipe
from report_assets.report_api import ReportApiClient
from report_assets.simulator.faults import FaultSettings
from report_assets_tests.conftest import RULES, Sim, SimFactory, settings_for

LEDGERS = ["302321", "405512", "517734"]
DATES = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]
PLANS = [DatePlan(d, fetch=LEDGERS) for d in DATES]
SPAWN = multiprocessing.get_context("spawn")


def stored_rows(data: DataDir) -> list[tuple[object, ...]]:
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        return connection.execute("FROM funds_ledger UNION ALL FROM fees_ledger ORDER BY ALL").fetchall()


def run(client: ReportApiClient, data: DataDir, options: IngestOptions,
        pools: list[ProcessPool]) -> list[BatchOutcome]:
    data.claim(options.source)
    return list(fetch_and_store(client, data, PLANS, options, print, threading.Event(), pools))


def started_pool(client: ReportApiClient, options: IngestOptions, pool_type: type[ProcessPool] = ProcessPool,
                 ) -> ProcessPool:
    pool = pool_type(SPAWN, settings_recipe(client.settings), client.tokens.share(), options.spec, 2)
    assert pool.started.wait(60), "the fetch process did not start"
    return pool


def test_a_fetch_process_takes_jobs_with_the_runs_token_and_what_is_stored_is_the_same(
    sim: Sim, tmp_path: Path
) -> None:
    options = IngestOptions("simulator", RULES)  # one fetch time: the rows of both runs carry the same stamp
    with ReportApiClient(settings_for(sim)) as client:
        alone, beside = DataDir(tmp_path / "alone"), DataDir(tmp_path / "beside")
        run(client, alone, options, [])
        tokens = sim.stats()["tokens_issued"]
        pool = started_pool(client, options)
        batches = run(client, beside, options, [pool])
    assert pool.jobs_done > 0  # it fetched a share
    assert pool.process.exitcode is not None  # and was stopped with the run
    assert sim.stats()["tokens_issued"] == tokens  # with the run's token, not one of its own
    assert all(sorted(o.stored_closed) == LEDGERS for batch in batches for o in batch.dates)
    assert stored_rows(beside) == stored_rows(alone)
    lake = "funds/ledger_date=2026-11-17/part-0.parquet"
    assert (beside.root / "lake" / lake).read_bytes() == (alone.root / "lake" / lake).read_bytes()


class DiesAfterThreeJobs(ProcessPool):
    """Killed right after it was sent its third job, so that job, at least, is unfinished."""

    sent = 0

    def submit(self, job: FetchJob, done: Done) -> None:
        super().submit(job, done)
        self.sent += 1
        if self.sent == 3:
            self.process.kill()


def test_a_fetch_process_that_dies_fails_only_its_unfinished_ledger_days_and_the_next_run_stores_them(
    start_simulator: SimFactory, tmp_path: Path
) -> None:
    late = start_simulator(faults=FaultSettings(rate_slow=1.0, slow_seconds=0.2))  # jobs in flight when it dies
    data = DataDir(tmp_path / "data")
    options = IngestOptions("simulator", RULES)
    with ReportApiClient(settings_for(late)) as client:
        pool = started_pool(client, options, DiesAfterThreeJobs)
        outcomes = [o for batch in run(client, data, options, [pool]) for o in batch.dates]
        failed = {(o.ledger_date, ledger): why for o in outcomes for ledger, why in o.failed.items()}
        assert failed, "the killed process's unfinished ledger-days must be reported failed"
        assert all("the fetch process exited" in why and "re-run the date" in why for why in failed.values())
        stored = {(o.ledger_date, ledger) for o in outcomes for ledger in o.stored_closed}
        assert len(stored) + len(failed) == len(DATES) * len(LEDGERS)  # the run went on without it
        rerun = [o for batch in run(client, data, options, []) for o in batch.dates]
    assert all(sorted(o.stored_closed) == LEDGERS for o in rerun)


def test_a_child_with_fetch_processes_stores_every_ledger_day_and_the_run_fetches_one_token(
    sim: Sim, tmp_path: Path
) -> None:
    options = IngestOptions("simulator", RULES, in_process_up_to=0, fetch_processes=2)
    tokens = sim.stats()["tokens_issued"].get("standard", 0)
    with ReportApiClient(settings_for(sim)) as client:
        batches = list(ingest(client, DataDir(tmp_path / "data"), PLANS, options, print))
    assert sim.stats()["tokens_issued"]["standard"] == tokens + 1  # the child and its fetchers use the run's
    assert [o.ledger_date for batch in batches for o in batch.dates] == DATES
    assert all(sorted(o.stored_closed) == LEDGERS for batch in batches for o in batch.dates)
