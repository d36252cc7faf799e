"""A user's mistake gets one clear sentence from the project's own command (`make main`'s module), fast, with
no traceback, and changes nothing stored; an analyst's open session never breaks a run or the main job."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from report_assets.defs.resources import ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import read_catalog
from report_assets.main_job import refresh_lake_views
from report_assets.simulator.app import SimClock, SimulatorState
from report_assets.simulator.server import ThreadedSimulator
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import Sim, SimFactory
from report_assets_tests.test_assets import LEDGERS, NOON_20TH, cli_env, cli_home, cli_materialize, finish

pytestmark = pytest.mark.integration  # processes of their own: the main job, the export, the CLIs

STORED = ("--from", "2026-11-18", "--to", "2026-11-19")


def main_job(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "report_assets.main_job", *args], env=env, capture_output=True,
                          text=True, timeout=300)
    return done, time.monotonic() - started


def fingerprint(data: DataDir) -> dict[str, str]:
    """What is stored: every file's bytes (lake, warehouse, status, markers)."""
    return {str(path.relative_to(data.root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(data.root.rglob("*")) if path.is_file() and ".locks" not in path.parts}


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data")


WORLD = World(ledgers=default_ledgers(3, 150), page_size=100)


@pytest.fixture
def sim(start_simulator: SimFactory) -> Sim:
    return start_simulator(WORLD, now=NOON_20TH)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DataDir, subprocess.CompletedProcess[str]]]:
    """Two dates of the test world's three ledgers, stored once by the main job, copied by each test."""
    root = tmp_path_factory.mktemp("template")
    with ThreadedSimulator(SimulatorState(WORLD, clock=SimClock(NOON_20TH))) as server:  # `sim`'s world
        data = DataDir(root / "data")
        done, _ = main_job(cli_env(Sim(server), cli_home(root), data), *STORED)
        assert done.returncode == 0, done.stderr[-3000:]
    yield data, done


def test_the_main_jobs_output_reads_as_a_report(template: tuple[DataDir, subprocess.CompletedProcess[str]]) -> None:
    _, done = template
    log = done.stderr.splitlines()
    assert any("2/2 dates done" in line for line in log)  # the step's progress, as time and text
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d (WARNING: |ERROR: )?\S.*", line) for line in log), log
    assert not any(word in done.stderr for word in ("DEBUG", "did not yield", "ASSET_CHECK"))
    assert len(re.findall(r"^Run [0-9a-f-]{36} \((ledgers|books)\)$", done.stdout, re.MULTILINE)) == 2


@pytest.fixture
def stored(tmp_path: Path, sim: Sim, data: DataDir,
           template: tuple[DataDir, subprocess.CompletedProcess[str]]) -> dict[str, str]:
    """A copy of the template's data directory, and the environment of a run against ``sim``."""
    shutil.copytree(template[0].root, data.root)
    refresh_lake_views(data)  # the views name their files by absolute path: point them at the copy
    return cli_env(sim, cli_home(tmp_path), data)


BAD_SETTINGS = [
    ({"REPORT_ASSETS_WAREHOUSE_BATCH": "abc"}, (), "REPORT_ASSETS_WAREHOUSE_BATCH='abc' is not valid"),
    ({"REPORT_ASSETS_START_DATE": "2026-13-45"}, (), "REPORT_ASSETS_START_DATE='2026-13-45' is not valid"),
    ({"REPORT_ASSETS_TIMEZONE": "Mars/Olympus"}, (), "REPORT_ASSETS_TIMEZONE='Mars/Olympus' is not valid"),
    ({"REPORT_ASSETS_LEDGER_IDS": "999999"}, (), "999999 cannot be read with these keys"),
    ({}, ("--ledger", "999999"), "999999 cannot be read with these keys"),
    ({"REPORT_API_CLIENT_ID": "id-1"}, (), "REPORT_API_CLIENT_SECRET"),
    ({"REPORT_API_CLIENT_ID": "id-1", "REPORT_API_CLIENT_SECRET": "s", "REPORT_API_SUBSCRIPTION_KEY": "k",
      "REPORT_API_TOKEN_FLOW": "magic"}, (), "REPORT_API_TOKEN_FLOW"),
    ({"REPORT_API_BASE_URL": "https://api.example.com"}, (), "REPORT_API_BASE_URL points at"),
    ({}, ("--from", "2026-11-31"), "expected a ledger date as YYYY-MM-DD"),
    ({}, ("--from", "2099-01-01"), "has not begun"),
    ({"REPORT_ASSETS_START_DATE": "2026-11-01"}, ("--from", "2026-10-01"), "before the first partition 2026-11-01"),
    ({}, ("--days", "0"), "expected a whole number of ledger dates from 1 to 3660"),
    ({}, ("--ledger", "abc"), "expected a ledger ID"),
]


@pytest.mark.parametrize(("env", "args", "message"), BAD_SETTINGS,
                         ids=[m.split()[0].strip("'-") + str(i) for i, (_, _, m) in enumerate(BAD_SETTINGS)])
def test_a_bad_setting_or_option_gets_one_clear_line_fast_and_changes_nothing(
    stored: dict[str, str], data: DataDir, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    before = fingerprint(data)
    done, seconds = main_job({**stored, **env}, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stdout + done.stderr
    assert seconds < 30  # no retries, no waiting: a mistake is not a network fault
    assert fingerprint(data) == before  # the lake, the warehouse, the status file and the catalog


def test_a_data_directory_refuses_another_simulator_world(
    tmp_path: Path, stored: dict[str, str], data: DataDir, start_simulator: SimFactory
) -> None:
    other = start_simulator(replace(WORLD, seed=7), now=NOON_20TH)
    before = fingerprint(data)
    done, seconds = main_job({**stored, "REPORT_API_BASE_URL": other.base_url}, *STORED)
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr and seconds < 30
    assert "another world (seed 2026" in done.stderr and "this run reads seed 7" in done.stderr
    assert "REPORT_ASSETS_DATA_DIR" in done.stderr
    assert fingerprint(data) == before
    assert not other.ledger_days_read()  # nothing was fetched either


HOLD = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print(connection.sql("SELECT count(*) FROM funds_ledger").fetchall()[0][0], flush=True)
sys.stdin.read()  # held open until the test closes our stdin
"""


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_an_analysts_open_lake_views_never_break_a_run_or_the_main_job(
    tmp_path: Path, stored: dict[str, str], sim: Sim, data: DataDir, mode: str
) -> None:
    analyst = subprocess.Popen([sys.executable, "-c", HOLD, str(data.lake_views), mode], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=stored)
    try:
        assert int(analyst.stdout.readline()) > 0  # the session is open, and the views read the lake
        assert finish(cli_materialize(stored, "2026-11-17")) == 0  # a run from the CLI
        done, _ = main_job(stored, "--from", "2026-11-16", "--to", "2026-11-17")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "a session has it open" in done.stdout
    finally:
        analyst.communicate("", timeout=30)
    with duckdb.connect(str(data.lake_views), read_only=True) as views:  # new dates show up by themselves
        days = {row[0] for row in views.sql("SELECT DISTINCT ledger_date::VARCHAR FROM funds_ledger").fetchall()}
    assert {"2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"} <= days


def test_the_lake_views_carry_comments_and_money_in_major_units(stored: dict[str, str], data: DataDir) -> None:
    with duckdb.connect(str(data.lake_views), read_only=True) as views:
        comments = dict(views.sql("SELECT table_name || '.' || column_name, comment FROM duckdb_columns() "
                                  "WHERE comment IS NOT NULL").fetchall())
        rows = views.sql("SELECT amount, amount_major, balance_after, balance_after_major FROM funds_ledger").fetchall()
        payouts = views.sql("SELECT amount, amount_major FROM payouts").fetchall()
    assert "minor units" in comments["funds_ledger.amount"] and "major units" in comments["funds_ledger.amount_major"]
    assert "payouts.capture_fees_matched_major" in comments and "daily_fee_summary.captures" in comments
    assert rows and all(major * 100 == minor for minor, major, _, _ in rows)
    assert all(major * 100 == minor for _, _, minor, major in rows)
    assert payouts and all(major * 100 == minor for minor, major in payouts)
    ledgers = set(read_catalog(data.lake))
    assert ledgers == set(LEDGERS)


def test_help_documents_every_option_and_make_passes_them_through() -> None:
    done = subprocess.run([sys.executable, "-m", "report_assets.main_job", "--help"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("REPORT_")})
    assert done.returncode == 0
    for option in ("--days", "--from", "--to", "--ledger", "--refetch"):
        assert option in done.stdout
    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    assert "report_assets.main_job $(ARGS)" in makefile


def test_a_failing_run_says_what_failed_and_what_to_do_and_stores_the_rest(
    stored: dict[str, str], sim: Sim, data: DataDir
) -> None:
    sim.control(corruptions=[{"ledger_id": "405512", "topic": "funds", "ledger_date": "2026-11-17", "page": 1,
                              "kind": "chain-broken"}])
    done, _ = main_job(stored, "--from", "2026-11-17", "--to", "2026-11-17")
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "What failed" in done.stderr and "ledger 405512 on 2026-11-17" in done.stderr
    assert "balance chain broken" in done.stderr and "Re-run the same dates" in done.stderr
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        stored_ledgers = {row[0] for row in connection.sql(
            "SELECT DISTINCT ledger_id FROM funds_ledger WHERE ledger_date = DATE '2026-11-17'").fetchall()}
    assert stored_ledgers == set(LEDGERS) - {"405512"}


def test_production_keys_are_known_by_a_fingerprint_never_by_their_values() -> None:
    def world(client_id: str, msn: str | None) -> dict[str, object]:
        resource = ReportApiResource(source="production", client_id=client_id, client_secret="the-secret",
                                     subscription_key="the-key", merchant_serial_number=msn)
        return resource.world(client=None)  # type: ignore[arg-type]  # production needs no request

    first = world("client-1", "123456")
    assert first == world("client-1", "123456")
    assert first != world("client-2", "123456") and first != world("client-1", "654321")
    assert not {"client-1", "123456", "the-secret", "the-key"} & set(str(first).replace("'", " ").split())
