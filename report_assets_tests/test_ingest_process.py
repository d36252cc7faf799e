"""Where a run's fetching and storing happen: a small run in its own process, a larger one in a child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from report_assets.lake.data_dir import DataDir
from report_assets.pipeline import ingestion
from report_assets.pipeline.ingest_process import IngestChild, ingest, prestart
from report_assets.pipeline.ingestion import BATCH_DATES, IngestOptions, WriteHooks
from report_assets.pipeline.planning import DatePlan
from report_assets.report_api import ApiSettings, ReportApiClient, Secret
from report_assets.simulator.faults import FaultSettings
from report_assets.warehouse.database import BULK_THREADS
from report_assets_tests.conftest import RULES, Sim, SimFactory, settings_for

LEDGERS = ["302321", "405512", "517734"]
# Keys for a child that never fetches: nothing listens on port 9.
NO_API = ApiSettings(client_id="id", client_secret=Secret("secret"), subscription_key=Secret("key"),
                     base_url="http://127.0.0.1:9")


@dataclass
class WorkerPids(WriteHooks):
    """Notes the process that writes the lake (pickled by reference into a child)."""

    path: str

    def reached(self, point: str) -> None:
        if point == "after-parquet":
            with open(self.path, "a") as pids:
                pids.write(f"{os.getpid()}\n")


@pytest.mark.parametrize(("up_to", "in_a_child"), [(3, False), (2, True)])
def test_a_run_of_up_to_in_process_up_to_ledger_days_stores_in_its_own_process_and_a_larger_one_in_a_child(
    sim: Sim, tmp_path: Path, up_to: int, in_a_child: bool
) -> None:
    pids = tmp_path / "pids"
    options = IngestOptions("simulator", RULES, in_process_up_to=up_to, hooks=WorkerPids(str(pids)))
    with ReportApiClient(settings_for(sim)) as client:
        batches = list(ingest(client, DataDir(tmp_path / "data"), [DatePlan("2026-11-20", fetch=LEDGERS)], options,
                              print))
    assert [sorted(outcome.stored_closed) for batch in batches for outcome in batch.dates] == [LEDGERS]
    writers = set(pids.read_text().split())
    assert len(writers) == 1
    assert (writers != {str(os.getpid())}) is in_a_child


def test_while_the_api_answers_late_dates_are_stored_as_they_come_in_not_all_at_the_end(
    start_simulator: SimFactory, tmp_path: Path
) -> None:
    """Four small dates make one batch at the end on a fast API; waiting on a slow one, the first date ready is
    stored while the others are still being fetched, so a run's end does not wait on all of them."""
    late = start_simulator(faults=FaultSettings(rate_slow=1.0, slow_seconds=0.3))
    dates = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]
    with ReportApiClient(settings_for(late)) as client:
        batches = list(ingest(client, DataDir(tmp_path / "data"), [DatePlan(d, fetch=LEDGERS) for d in dates],
                              IngestOptions("simulator", RULES), print))
    assert len(batches) >= 2
    assert [outcome.ledger_date for batch in batches for outcome in batch.dates] == dates
    assert all(sorted(outcome.stored_closed) == LEDGERS for batch in batches for outcome in batch.dates)


def test_a_few_ledgers_over_many_dates_are_stored_and_handed_on_a_month_of_dates_at_a_time(
    sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three ledgers of 40 dates are 240 ledger-days, far below a batch's size: yet the first dates are handed on
    (to be reported) once BATCH_DATES of them are stored, not after all 40."""
    # Never taken for waiting on the API, which closes batches early: a loaded machine's process can look idle.
    monkeypatch.setattr(ingestion, "WAITING_CPU_SHARE", 0.0)
    first = date(2026, 10, 14)
    dates = [(first + timedelta(days=n)).isoformat() for n in range(40)]
    with ReportApiClient(settings_for(sim)) as client:
        batches = list(ingest(client, DataDir(tmp_path / "data"), [DatePlan(d, fetch=LEDGERS) for d in dates],
                              IngestOptions("simulator", RULES, in_process_up_to=1000), print))
    assert [len(batch.dates) for batch in batches] == [BATCH_DATES, len(dates) - BATCH_DATES]
    assert [outcome.ledger_date for batch in batches for outcome in batch.dates] == dates
    assert all(sorted(outcome.stored_closed) == LEDGERS for batch in batches for outcome in batch.dates)


def test_the_writer_inserts_on_one_duckdb_thread_and_runs_its_queries_on_every_core(
    sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's parallel insert and checkpoint cost more CPU for no less time (database.BULK_THREADS): a batch is
    inserted on one thread, its checks and summaries use DuckDB's default, and the connection closes on one again."""
    threads: dict[str, int] = {}

    def setting(connection: duckdb.DuckDBPyConnection) -> int:
        return connection.execute("SELECT current_setting('threads')").fetchall()[0][0]

    def replace_slices(connection: duckdb.DuckDBPyConnection, *args: object) -> None:
        threads["insert"] = setting(connection)
        original_replace(connection, *args)

    def check_and_summarize(connection: duckdb.DuckDBPyConnection, *args: object) -> ingestion.Checked:
        threads["queries"] = setting(connection)
        return original_check(connection, *args)

    original_replace, original_check = ingestion.replace_slices, ingestion.check_and_summarize
    monkeypatch.setattr(ingestion, "replace_slices", replace_slices)
    monkeypatch.setattr(ingestion, "check_and_summarize", check_and_summarize)
    closing: list[int] = []
    original_open = ingestion.open_for_write

    @contextmanager
    def open_for_write(*args: object, **kwargs: object) -> Iterator[duckdb.DuckDBPyConnection]:
        with original_open(*args, **kwargs) as connection:
            yield connection
            closing.append(setting(connection))

    monkeypatch.setattr(ingestion, "open_for_write", open_for_write)
    with ReportApiClient(settings_for(sim)) as client:
        batches = list(ingest(client, DataDir(tmp_path / "data"), [DatePlan("2026-11-20", fetch=LEDGERS)],
                              IngestOptions("simulator", RULES), print))
    assert [sorted(outcome.stored_closed) for batch in batches for outcome in batch.dates] == [LEDGERS]
    with duckdb.connect() as fresh:
        default = setting(fresh)
    assert threads == {"insert": BULK_THREADS, "queries": default}
    assert closing == [BULK_THREADS]


def test_a_spawned_process_of_the_project_leaves_out_httpx_s_command_line_client() -> None:
    """httpx imports its CLI (rich, pygments) when they are installed, 32 ms of each spawned process's start: the
    ingest child's is on every larger run's way."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, report_assets.pipeline.ingest_process; "
                               "print(sorted(m for m in ('httpx', 'rich', 'pygments') if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split("\n")[0]
    assert loaded == "['httpx']"


def test_a_child_started_before_the_plans_stores_them_once_sent(sim: Sim, tmp_path: Path) -> None:
    """``prestart`` spawns the child while the run still reads its ledgers and token; the plans reach it later."""
    pids = tmp_path / "pids"
    data = DataDir(tmp_path / "data")
    options = IngestOptions("simulator", RULES, in_process_up_to=2, hooks=WorkerPids(str(pids)))
    with ReportApiClient(settings_for(sim)) as client, \
            prestart(client.settings, data, options, most_ledger_days=3, dates=1) as child:
        assert isinstance(child, IngestChild)
        started = child.process.pid
        batches = list(ingest(client, data, [DatePlan("2026-11-20", fetch=LEDGERS)], options, print, child))
    assert [sorted(outcome.stored_closed) for batch in batches for outcome in batch.dates] == [LEDGERS]
    assert pids.read_text().split() == [str(started)]


def test_a_child_started_for_a_run_that_turns_out_small_is_killed_unused_and_writes_nothing(
    sim: Sim, tmp_path: Path
) -> None:
    """Every date but one was stored closed already: the run does its one ledger-day itself."""
    pids = tmp_path / "pids"
    data = DataDir(tmp_path / "data")
    options = IngestOptions("simulator", RULES, in_process_up_to=2, hooks=WorkerPids(str(pids)))
    with ReportApiClient(settings_for(sim)) as client, \
            prestart(client.settings, data, options, most_ledger_days=None, dates=30) as child:
        assert isinstance(child, IngestChild)
        stored = ingest(client, data, [DatePlan("2026-11-20", fetch=LEDGERS[:1])], options, print, child)
        first = next(stored)
        assert child.process.exitcode == -signal.SIGKILL  # before the work here went on
        batches = [first, *stored]
    assert [outcome.stored_closed for batch in batches for outcome in batch.dates] == [LEDGERS[:1]]
    assert pids.read_text().split() == [str(os.getpid())]


@pytest.mark.parametrize(("most_ledger_days", "dates", "started"),
                         [(3, 1, False), (4, 2, True), (None, 1, False), (None, 2, True)])
def test_a_child_is_started_early_only_for_a_run_that_may_be_larger_than_in_process_up_to(
    tmp_path: Path, most_ledger_days: int | None, dates: int, started: bool
) -> None:
    """A run whose ledgers are not known yet (no ledger list read so far) is taken as large if it spans dates."""
    options = IngestOptions("simulator", RULES, in_process_up_to=3)
    with prestart(NO_API, DataDir(tmp_path / "data"), options, most_ledger_days, dates) as child:
        assert isinstance(child, IngestChild) is started


def test_a_child_started_for_a_run_that_fails_before_its_plans_is_killed_with_it(tmp_path: Path) -> None:
    """The ledger list, the token or the plans can fail after the child is up: it must not outlive the step."""
    options = IngestOptions("simulator", RULES, in_process_up_to=3)
    with pytest.raises(RuntimeError, match="ledger list"), \
            prestart(NO_API, DataDir(tmp_path / "data"), options, None, 2) as child:
        raise RuntimeError("the ledger list could not be read")
    assert isinstance(child, IngestChild)
    assert child.process.exitcode == -signal.SIGKILL
    assert not (tmp_path / "data").exists()  # it wrote nothing
