"""The feed, stored as it lands: resumed from a persisted cursor after a restart, and never double counted."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import refresh_catalog
from report_assets.pipeline.ingest_process import ingest
from report_assets.pipeline.ingestion import IngestOptions
from report_assets.pipeline.intraday import poll_feed, today_so_far
from report_assets.pipeline.planning import DatePlan
from report_assets.report_api import ReportApiClient
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import DEFAULTS, RULES, SimFactory, settings_for

NOON_20TH = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def test_the_feed_resumes_from_its_cursor_after_a_restart_and_stores_each_entry_once(
    start_simulator: SimFactory, tmp_path: Path
) -> None:
    sim = start_simulator(World(ledgers=default_ledgers(1, 120)), now=NOON_20TH, page_size=50, feed_days=1)
    warehouse = str(tmp_path / "warehouse.duckdb")
    with ReportApiClient(settings_for(sim)) as client, duckdb.connect(warehouse) as connection:
        first = poll_feed(client, connection, "302321", "funds", max_pages=2)
    assert first == 100
    with ReportApiClient(settings_for(sim)) as client, duckdb.connect(warehouse) as connection:  # a restart
        rest = poll_feed(client, connection, "302321", "funds")
        expected = [e for day in ("2026-11-19", "2026-11-20")
                    for e in client.read_date("302321", "funds", day).entries()]
        stored = connection.execute("SELECT psp_reference, balance_after, CAST(ledger_date AS VARCHAR), position "
                                    "FROM intraday_entries ORDER BY time, ledger_date, position").fetchall()
        assert first + rest == len(expected) == len(stored)
        assert [(r[0], r[1]) for r in stored] == [(e["pspReference"], e["balanceAfter"]) for e in expected]
        assert poll_feed(client, connection, "302321", "funds") == 0  # at the end: tryLater, nothing new
        sim.control(advance_seconds=3600)
        later = poll_feed(client, connection, "302321", "funds")
        assert later > 0
        newest = connection.execute("SELECT balance_before FROM intraday_entries ORDER BY time DESC, position DESC "
                                    f"LIMIT 1 OFFSET {later - 1}").fetchone()
        assert newest[0] == stored[-1][1]  # the new entries continue the chain where the stored ones ended


def test_today_so_far_joins_the_dated_rows_and_the_feed_without_counting_any_entry_twice(
    start_simulator: SimFactory, tmp_path: Path
) -> None:
    sim = start_simulator(World(ledgers=default_ledgers(1, 120)), now=NOON_20TH, page_size=50, feed_days=0)
    data = DataDir(tmp_path / "data")
    with ReportApiClient(settings_for(sim)) as client:
        stored = list(ingest(client, data, [DatePlan("2026-11-20", fetch=["302321"])],
                             IngestOptions("simulator", RULES, topics=("funds",), in_process_up_to=0),  # in a child
                             print))  # today at noon: open
        assert [outcome.stored_open for batch in stored for outcome in batch.dates] == [["302321"]]
        sim.control(advance_seconds=2 * 3600)  # two hours later
        with duckdb.connect(str(data.warehouse)) as connection:
            dated = connection.execute("SELECT count(*) FROM funds_ledger").fetchone()[0]
            poll_feed(client, connection, "302321", "funds")
            so_far = today_so_far(connection, "302321", "funds", "2026-11-20")
        now = client.read_date("302321", "funds", "2026-11-20").entries()
    assert 0 < dated < len(now)
    assert [(r[2], r[3], r[8]) for r in so_far] == [(n, e["pspReference"], e["balanceAfter"])
                                                     for n, e in enumerate(now, start=1)]
    assert {r[9] for r in so_far[:dated]} == {"dates"} and {r[9] for r in so_far[dated:]} == {"feed"}


def test_the_intraday_sensor_stores_every_ledgers_feed_and_skips_a_busy_warehouse(
    start_simulator: SimFactory, tmp_path: Path
) -> None:
    import dagster as dg

    from report_assets.defs.automation.intraday_sensor import intraday_feed_sensor
    from report_assets.defs.resources import DataDirResource, ReportApiResource

    sim = start_simulator(World(ledgers=default_ledgers(2, 60)), now=NOON_20TH, feed_days=0)
    data = DataDir(tmp_path / "data")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with ReportApiClient(settings_for(sim)) as client:  # the tracked ledgers, as discovery records them
            refresh_catalog(client.list_ledgers(), data.lake, "Europe/Oslo", NOON_20TH, {})
        resources = {"report_api": ReportApiResource(base_url=sim.base_url),
                     "data_dir": DataDirResource(path=str(data.root))}
        with dg.build_sensor_context(instance=instance, resources=resources) as context:  # closes what it opens
            result = intraday_feed_sensor(DEFAULTS)(context)
        assert "Stored" in str(result.skip_message)
        with duckdb.connect(str(data.warehouse)) as connection:
            counts = dict(connection.execute(
                "SELECT ledger_id || '/' || topic, count(*) FROM intraday_entries GROUP BY 1").fetchall())
        assert set(counts) == {"302321/funds", "302321/fees", "405512/funds", "405512/fees"}
        holder = subprocess.Popen(  # another process (an analyst, a run) holds the warehouse
            [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
             "sys.stdin.read()", str(data.warehouse)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "ready"
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                busy = intraday_feed_sensor(DEFAULTS)(context)
        finally:
            holder.communicate("")
        assert "busy" in str(busy.skip_message)  # skipped, not waited: the next tick continues
