"""The export as a user runs it, on the embedded simulator: a month is exported whole right after the main job
(the dates it did not store are fetched first), and books older than the ledgers are said, with the command that
brings them up to date, or recomputed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef

from report_assets.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration  # processes of their own: the main job, the export, the CLIs

TODAY = datetime.now(ZoneInfo("Europe/Oslo")).date()  # the date partitions' today, as the main job takes it
LEDGER_ASSETS = "funds_ledger,fees_ledger,daily_fee_summary,daily_payout_summary,payouts,journal_lines"
LAST_MONTH = date(TODAY.year - (TODAY.month == 1), (TODAY.month - 2) % 12 + 1, 1)


def run(env: dict[str, str], *command: str) -> str:
    done = subprocess.run([sys.executable, "-m", *command], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def after_main(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path, str]:
    """The main job for the last 3 days (today's and the two before), then the export of last month."""
    root = tmp_path_factory.mktemp("export")
    (root / "home").mkdir()
    (root / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORT_API_", "REPORT_ASSETS_"))}
    env |= {"DAGSTER_HOME": str(root / "home"), "REPORT_ASSETS_DATA_DIR": str(root / "data"),
            "REPORT_ASSETS_START_DATE": f"{LAST_MONTH:%Y-%m}-01", "REPORT_ASSETS_STEP_RETRIES": "0"}
    run(env, "report_assets.main_job", "--days", "3")
    output = run(env, "report_assets.export", "--month", f"{LAST_MONTH:%Y-%m}")
    return env, root / "data", output


def statement_rows(data: Path, month: date) -> list[tuple]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute("SELECT ledger_id, days_stored, missing_dates, is_final FROM monthly_statement "
                                  "WHERE month = ? ORDER BY ledger_id", [f"{month:%Y-%m}"]).fetchall()


def test_last_month_is_exported_whole_right_after_the_main_job(after_main: tuple[dict[str, str], Path, str]) -> None:
    _, data, output = after_main
    assert f"Fetching the dates of {LAST_MONTH:%Y-%m} not stored" in output
    days = (date(TODAY.year, TODAY.month, 1) - LAST_MONTH).days
    statements = statement_rows(data, LAST_MONTH)
    assert statements and all(row[1:] == (days, None, True) for row in statements), statements
    assert f"{LAST_MONTH:%Y-%m} is final: every date stored closed." in output and "Not final" not in output
    folder = data / "exports" / f"{LAST_MONTH:%Y-%m}"
    for ledger_id, *_ in statements:
        for kind, suffix in (("journal", "csv"), ("statement", "csv"), ("books", "xlsx")):
            assert (folder / f"{kind}-{ledger_id}-{LAST_MONTH:%Y-%m}.{suffix}").exists()


def test_books_older_than_the_ledgers_are_said_with_the_command_then_recomputed(
        after_main: tuple[dict[str, str], Path, str]) -> None:
    """Today re-fetched by `dagster asset materialize` (no daemon runs here to follow it): the export without
    fetching says the books are older and names `make books`; the export that may fetch recomputes them."""
    env, _, _ = after_main
    # The ledger assets only (with '*' the run may recompute the books itself), read again even if stored closed
    # (after midnight in a ledger's time zone, today's date may have closed since the main job stored it).
    run(env, "dagster", "asset", "materialize", "-m", "report_assets.definitions", "--select", LEDGER_ASSETS,
        "--partition", TODAY.isoformat(), "--config-json", '{"ops": {"ledger_entries": {"config": {"refetch": true}}}}')
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(env["DAGSTER_HOME"])) as instance:  # what the UI shows
        (said,) = instance.fetch_observations(dg.AssetKey("monthly_statement"), limit=1).records
        books = instance.get_latest_materialization_event(dg.AssetKey("monthly_statement"))
        assert books is not None and said.timestamp > books.timestamp
        metadata = said.asset_observation.metadata
        assert "make books" in metadata["brings_them_up_to_date"].value
        assert metadata["ledger_dates_stored"].value == f"{TODAY.isoformat()} to {TODAY.isoformat()}"
    told = run(env, "report_assets.export", "--month", f"{TODAY:%Y-%m}", "--no-fetch")
    assert "The books are older than the ledgers (computed " in told and "make books" in told
    assert f"Not final yet: the Report API still has {TODAY.isoformat()} open" in told
    mended = run(env, "report_assets.export", "--month", f"{TODAY:%Y-%m}")
    assert "The books were older than the ledgers" in mended and "Recomputing them" in mended
    assert "older than the ledgers" not in run(env, "report_assets.export", "--month", f"{TODAY:%Y-%m}",
                                               "--no-fetch")
