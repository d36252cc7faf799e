"""Summaries and checks: a worked example by hand, simulator months checked against sums done here
in Python from what the client reads, and stored data corrupted in each way the checks guard against."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.summary_columns import COLUMNS
from report_assets.report_api import ReportApiClient
from report_assets.simulator.world import World, default_ledgers
from report_assets.transforms.summaries import ALL_CHECKS, SUMMARY_TABLES, run_checks, summarize
from report_assets.warehouse.database import ensure_ledger_table, ensure_status_table
from report_assets_tests.conftest import FROZEN_NOW, RULES, Sim, SimFactory, check_evaluations, settings_for
from report_assets_tests.conftest import LEDGER_STEP as ledger_entries

LEDGERS = ["302321", "405512", "517734"]
PAYOUT_TYPES = {"payout-scheduled", "scheduled-for-payout", "payout"}


def rows_of(connection: duckdb.DuckDBPyConnection, table: str, where: str = "TRUE") -> list[dict[str, Any]]:
    result = connection.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY ledger_id, ledger_date")
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


# -- a worked example: a quiet day with three captures, a refund, fees retained and a payout ---------------


@pytest.fixture
def quiet_day(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Friday 2026-02-27 pays out 1,000.00 NOK; the weekend is closed and empty; Monday 2026-03-02 has
    captures of 100.00, 250.00 and 50.00, a 50.00 refund of the last, 7.00 of fees retained, and pays out."""
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for table in ("funds_ledger", "fees_ledger"):
        ensure_ledger_table(connection, table, include_gdpr=False)
    ensure_status_table(connection)
    funds = [  # date, position, psp, type, amount, before
        ("2026-02-27", 1, "c0", "capture", 100_000, 0),
        ("2026-02-27", 2, "L1-FR-20260227", "fees-retained", 0 - 1_750, 100_000),
        ("2026-02-27", 3, "L1-1001", "payout-scheduled", -98_250, 98_250),
        ("2026-03-02", 1, "c1", "capture", 10_000, 0),
        ("2026-03-02", 2, "c2", "capture", 25_000, 10_000),
        ("2026-03-02", 3, "c3", "capture", 5_000, 35_000),
        ("2026-03-02", 4, "r3", "refund", -5_000, 40_000),
        ("2026-03-02", 5, "L1-FR-20260302", "fees-retained", -700, 35_000),
        ("2026-03-02", 6, "L1-1002", "payout-scheduled", -34_300, 34_300),
    ]
    fees = [
        ("2026-02-27", 1, "c0", "capture-fee", -1_750, 0),
        ("2026-02-27", 2, "L1-FR-20260227", "fees-retained", 1_750, -1_750),
        ("2026-03-02", 1, "c1", "capture-fee", -175, 0),
        ("2026-03-02", 2, "c2", "capture-fee", -438, -175),
        ("2026-03-02", 3, "c3", "capture-fee", -87, -613),
        ("2026-03-02", 4, "L1-FR-20260302", "fees-retained", 700, -700),
    ]
    for table, entries in (("funds_ledger", funds), ("fees_ledger", fees)):
        for day, position, psp, kind, amount, before in entries:
            connection.execute(
                f"INSERT INTO {table} BY NAME SELECT 'L1' AS ledger_id, ? AS psp_reference, "
                "TIMESTAMPTZ '2026-03-02 12:00:00+00' AS time, CAST(? AS DATE) AS ledger_date, ? AS entry_type, "
                "? AS reference, 'NOK' AS currency, ? AS amount, ? AS balance_before, ? AS balance_after, "
                "? AS position, false AS is_open, now() AS fetched_at, 'test' AS source",
                [psp, day, kind, "Utbetaling" if kind.startswith("payout") else "order-" + psp, amount, before,
                 before + amount, position])
    for day in ("2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"):
        for topic in ("funds", "fees"):
            connection.execute("INSERT INTO ledger_day_status VALUES ('L1', ?, ?, false, 0, now(), 'test')",
                               [day, topic])
    yield connection
    connection.close()


def test_the_worked_example_comes_out_right(quiet_day: duckdb.DuckDBPyConnection) -> None:
    summarize(quiet_day, [("L1", "2026-02-27"), ("L1", "2026-02-28"), ("L1", "2026-03-01"), ("L1", "2026-03-02")],
              RULES)
    fee = rows_of(quiet_day, "daily_fee_summary", "ledger_date = '2026-03-02'")[0]
    assert {k: fee[k] for k in ("capture_fees", "service_fees", "fees_retained", "fees_invoiced", "fee_entries",
                                "captures", "captured_amount", "fees_of_captures", "opening_fee_balance",
                                "closing_fee_balance", "is_final", "currency")} == {
        "capture_fees": 700, "service_fees": 0, "fees_retained": 700, "fees_invoiced": 0, "fee_entries": 4,
        "captures": 3, "captured_amount": 40_000, "fees_of_captures": 700, "opening_fee_balance": 0,
        "closing_fee_balance": 0, "is_final": True, "currency": "NOK"}
    assert fee["effective_fee_rate"] == pytest.approx(0.0175)
    day = rows_of(quiet_day, "daily_payout_summary", "ledger_date = '2026-03-02'")[0]
    assert {k: day[k] for k in ("opening_balance", "captures", "captured_amount", "refunds", "refunded_amount",
                                "fees_retained", "payout_amount", "payout_number", "payout_bank_text",
                                "unpaid_balance_carried", "closing_balance", "is_final")} == {
        "opening_balance": 0, "captures": 3, "captured_amount": 40_000, "refunds": 1, "refunded_amount": -5_000,
        "fees_retained": -700, "payout_amount": 34_300, "payout_number": 1002, "payout_bank_text": "Utbetaling",
        "unpaid_balance_carried": 0, "closing_balance": 0, "is_final": True}
    weekend = rows_of(quiet_day, "daily_payout_summary", "ledger_date = '2026-02-28'")[0]
    assert weekend["captures"] == 0 and weekend["payout_amount"] == 0 and weekend["is_final"]
    payout = rows_of(quiet_day, "payouts", "ledger_date = '2026-03-02'")[0]
    assert {k: payout[k] for k in ("payout_number", "covers_from", "covers_to", "amount", "opening_balance",
                                   "captured_amount", "refunded_amount", "fees_retained", "capture_fees_matched",
                                   "closing_balance", "is_final")} == {
        "payout_number": 1002, "covers_from": date(2026, 2, 28), "covers_to": date(2026, 3, 2), "amount": 34_300,
        "opening_balance": 0, "captured_amount": 40_000, "refunded_amount": -5_000, "fees_retained": -700,
        "capture_fees_matched": 700, "closing_balance": 0, "is_final": True}
    first = rows_of(quiet_day, "payouts", "ledger_date = '2026-02-27'")[0]
    assert first["amount"] == 98_250 and first["is_final"] is False  # its period starts before our data


def test_every_summary_column_carries_its_description_once_set_and_after_a_changed_one(
    quiet_day: duckdb.DuckDBPyConnection,
) -> None:
    def comments(table: str) -> dict[str, str | None]:
        return dict(quiet_day.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?",
                                      [table]).fetchall())

    summarize(quiet_day, [("L1", "2026-03-02")], RULES)
    assert all(comments(table) == COLUMNS[table] for table in SUMMARY_TABLES)
    quiet_day.execute("COMMENT ON COLUMN payouts.amount IS 'stale'")  # as an older version would have left it
    summarize(quiet_day, [("L1", "2026-02-27")], RULES)
    assert all(comments(table) == COLUMNS[table] for table in SUMMARY_TABLES)


def test_a_late_fee_is_matched_to_its_capture_on_psp_reference(quiet_day: duckdb.DuckDBPyConnection) -> None:
    # c3's fee lands on Tuesday instead: Monday's fee total drops, its captures' fees do not.
    quiet_day.execute("UPDATE fees_ledger SET ledger_date = DATE '2026-03-03' WHERE psp_reference = 'c3'")
    quiet_day.execute("INSERT INTO ledger_day_status VALUES ('L1', DATE '2026-03-03', 'fees', false, 1, now(), 't')")
    summarize(quiet_day, [("L1", "2026-03-02")], RULES)
    fee = rows_of(quiet_day, "daily_fee_summary", "ledger_date = '2026-03-02'")[0]
    assert fee["capture_fees"] == 613 and fee["fees_of_captures"] == 700


# -- simulator months, against sums done here ---------------------------------------------------------------


@pytest.fixture(scope="module")
def october(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict]]:
    """October 2026 of the three default ledgers (and an unknown entry type some days), through Dagster."""
    from dataclasses import replace

    from report_assets.simulator.app import SimClock, SimulatorState
    from report_assets.simulator.server import ThreadedSimulator

    ledgers = tuple(replace(s, unknown_entry_rate=0.2) for s in default_ledgers(3, 120))
    state = SimulatorState(World(ledgers=ledgers), clock=SimClock(datetime(2026, 11, 25, 12, tzinfo=UTC)))
    root = tmp_path_factory.mktemp("october")
    data = DataDir(root / "data")
    with ThreadedSimulator(state) as server, dg.instance_for_test(temp_dir=str(root)) as instance:
        result = dg.materialize(
            [ledger_entries], instance=instance,
            resources={"report_api": ReportApiResource(base_url=server.base_url),
                       "data_dir": DataDirResource(path=str(data.root))},
            tags={"dagster/asset_partition_range_start": "2026-09-29",
                  "dagster/asset_partition_range_end": "2026-11-01"})
        assert result.success
        checks = {(e.asset_check_key.name, e.passed) for e in check_evaluations(instance, result.run_id)}
        with ReportApiClient(settings_for(Sim(server))) as client:
            raw = {(lid, topic, day.isoformat()): client.read_date(lid, topic, day).entries()
                   for lid in LEDGERS for topic in ("funds", "fees")
                   for day in (date(2026, 9, 29) + timedelta(days=n) for n in range(34))}
        connection = duckdb.connect(str(data.warehouse), read_only=True)
        yield connection, {"raw": raw, "checks": checks, "instance_partitions": instance.get_materialized_partitions(
            dg.AssetKey("daily_payout_summary"))}
        connection.close()


def test_every_check_passes_on_clean_simulator_data(october) -> None:
    _, found = october
    assert {name for name, _ in found["checks"]} == {c.name for c in ALL_CHECKS} | {"all_tracked_ledgers_stored"}
    warnings = {"unknown_entry_types", "fresh_closed_dates", "suspense_lines"}
    assert all(passed for name, passed in found["checks"] if name not in warnings)
    assert ("suspense_lines", False) in found["checks"]  # the unknown type is booked to suspense and flagged
    assert ("unknown_entry_types", False) in found["checks"]  # the world has unknown types: reported, a warning
    assert ("fresh_closed_dates", False) in found["checks"]  # October is weeks old: worth a look, a warning
    assert len(found["instance_partitions"]) == 34  # one partition per ledger date, every ledger in it


@pytest.mark.parametrize("ledger_id", LEDGERS)
def test_daily_summaries_equal_sums_of_the_entries_the_api_sent(october, ledger_id: str) -> None:
    connection, found = october
    raw = found["raw"]
    fee_by_psp = {e["pspReference"]: -e["amount"] for (lid, topic, _), entries in raw.items()
                  if lid == ledger_id and topic == "fees" for e in entries if e["entryType"] == "capture-fee"}
    payout_rows = {r["ledger_date"].isoformat(): r for r in rows_of(connection, "daily_payout_summary",
                                                                    f"ledger_id = '{ledger_id}'")}
    fee_rows = {r["ledger_date"].isoformat(): r for r in rows_of(connection, "daily_fee_summary",
                                                                 f"ledger_id = '{ledger_id}'")}
    seen: set[str] = set()
    for day in (date(2026, 10, 1) + timedelta(days=n) for n in range(31)):
        funds, fees = raw[(ledger_id, "funds", day.isoformat())], raw[(ledger_id, "fees", day.isoformat())]
        by_type: dict[str, int] = defaultdict(int)
        for e in funds:
            by_type[e["entryType"]] += e["amount"]
            seen.add(e["entryType"])
        row = payout_rows[day.isoformat()]
        assert row["captured_amount"] == by_type["capture"]
        assert row["refunded_amount"] == by_type["refund"]
        assert row["disputes_retained"] == by_type["retained-disputed-capture"]
        assert row["disputes_returned"] == by_type["returned-disputed-capture"]
        assert row["top_ups"] == by_type["top-up"] and row["fees_retained"] == by_type["fees-retained"]
        assert row["payout_amount"] == -by_type["payout-scheduled"]
        assert row["other_amount"] == by_type["interest-credit"]
        assert row["opening_balance"] == funds[0]["balanceBefore"]
        assert row["unpaid_balance_carried"] == funds[-1]["balanceAfter"] and row["is_final"]
        captures = [e for e in funds if e["entryType"] == "capture"]
        fee_row = fee_rows[day.isoformat()]
        assert fee_row["captured_amount"] == sum(e["amount"] for e in captures)
        assert fee_row["fees_of_captures"] == sum(fee_by_psp[e["pspReference"]] for e in captures)
        assert fee_row["capture_fees"] == -sum(e["amount"] for e in fees if e["entryType"] == "capture-fee")
        assert fee_row["fees_invoiced"] == sum(e["amount"] for e in fees if e["entryType"] == "fees-invoiced")
        assert fee_row["closing_fee_balance"] == fees[-1]["balanceAfter"]
    expected = {"302321": {"top-up", "retained-disputed-capture", "interest-credit"},
                "405512": {"returned-disputed-capture", "payout-aborted"}, "517734": {"refund"}}[ledger_id]
    assert expected <= seen  # the month really had what this test is about


@pytest.mark.parametrize("ledger_id", LEDGERS)
def test_each_payout_is_explained_by_the_entries_since_the_previous_one(october, ledger_id: str) -> None:
    connection, found = october
    raw = found["raw"]
    days = [date(2026, 9, 29) + timedelta(days=n) for n in range(34)]
    entries = [e for d in days for e in raw[(ledger_id, "funds", d.isoformat())]]
    payouts = rows_of(connection, "payouts", f"ledger_id = '{ledger_id}' AND is_final")
    assert len(payouts) >= 20
    for payout in payouts:
        period = [e for e in entries if payout["covers_from"].isoformat() <= e["ledgerDate"]
                  <= payout["covers_to"].isoformat()]
        scheduled = [e for e in period if e["entryType"] in PAYOUT_TYPES]
        assert [-e["amount"] for e in scheduled] == [payout["amount"]]
        assert payout["opening_balance"] == period[0]["balanceBefore"]
        booked = sum(e["amount"] for e in period if e["entryType"] not in PAYOUT_TYPES)
        assert payout["opening_balance"] + booked - payout["amount"] == payout["closing_balance"]
        assert payout["captured_amount"] == sum(e["amount"] for e in period if e["entryType"] == "capture")
        assert payout["closing_balance"] == (2_500_000 if ledger_id == "405512" else 0)


# -- corrupted data: each check fails and blocks the summaries of its ledger-day ---------------------------


CORRUPTIONS = {
    "balance_arithmetic": "UPDATE funds_ledger SET amount = amount + 1 WHERE position = 3 AND {day}",
    "chain_within_day": "UPDATE funds_ledger SET balance_before = balance_before + 5, balance_after = balance_after + 5"
                        " WHERE position = 3 AND {day}",
    "chain_from_previous_day": "UPDATE funds_ledger SET balance_before = balance_before + 7, "
                               "balance_after = balance_after + 7 WHERE {day}",
    "no_duplicates": "INSERT INTO funds_ledger SELECT * FROM funds_ledger WHERE position = 2 AND {day}",
    "one_currency": "UPDATE funds_ledger SET currency = 'SEK' WHERE position = 4 AND {day}",
    "payout_last": "UPDATE funds_ledger SET position = 0 WHERE entry_type = 'payout-scheduled' AND {day}",
    "fees_retained_mirror": "UPDATE fees_ledger SET psp_reference = 'someone-else' WHERE entry_type = 'fees-retained' "
                            "AND {day}",
    "unknown_entry_types": "UPDATE funds_ledger SET entry_type = 'mystery-type' WHERE position = 2 AND {day}",
}


def summary_days(data: DataDir) -> set[tuple[str, str]]:
    """The ledger-days that have a daily payout summary row in the warehouse (the lake holding the same rows)."""
    with duckdb.connect(str(data.warehouse), read_only=True) as connection:
        stored = connection.execute("SELECT * FROM daily_payout_summary ORDER BY ledger_id, ledger_date").fetchall()
        lake = connection.execute("SELECT * FROM read_parquet($glob) ORDER BY ledger_id, ledger_date",
                                  {"glob": str(data.lake_dir / "daily_payout_summary" / "*" / "*.parquet")}).fetchall()
    assert set(stored) <= set(lake)
    return {(r[0], r[1].isoformat()) for r in stored}


CORRUPTED_WORLD = World(ledgers=default_ledgers(3, 60))


@pytest.fixture(scope="module")
def two_dates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2026-11-17 and -18 of ``CORRUPTED_WORLD``, stored once; each corruption test corrupts a copy."""
    from report_assets.simulator.app import SimClock, SimulatorState
    from report_assets.simulator.server import ThreadedSimulator

    root = tmp_path_factory.mktemp("two_dates")
    data = DataDir(root / "data")
    with ThreadedSimulator(SimulatorState(CORRUPTED_WORLD, clock=SimClock(FROZEN_NOW))) as server, \
            dg.instance_for_test(temp_dir=str(root)) as instance:
        assert dg.materialize([ledger_entries], instance=instance,
                              resources={"report_api": ReportApiResource(base_url=server.base_url),
                                         "data_dir": DataDirResource(path=str(data.root))},
                              selection=dg.AssetSelection.assets(*ledger_entries.keys).without_checks(),
                              tags={"dagster/asset_partition_range_start": "2026-11-17",
                                    "dagster/asset_partition_range_end": "2026-11-18"}).success
    assert ("302321", "2026-11-18") in summary_days(data)
    return data.root


@pytest.mark.parametrize("check_name", sorted(CORRUPTIONS))
def test_corrupted_raw_data_fails_its_check_and_blocks_the_summary(
    start_simulator: SimFactory, tmp_path: Path, two_dates: Path, check_name: str
) -> None:
    sim = start_simulator(CORRUPTED_WORLD)
    data = DataDir(tmp_path / "data")
    shutil.copytree(two_dates, data.root)
    resources = {"report_api": ReportApiResource(base_url=sim.base_url),
                 "data_dir": DataDirResource(path=str(data.root))}
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with duckdb.connect(str(data.warehouse)) as connection:
            connection.execute(CORRUPTIONS[check_name].format(
                day="ledger_id = '302321' AND ledger_date = DATE '2026-11-18'"))
            connection.execute("DELETE FROM daily_payout_summary WHERE ledger_date = DATE '2026-11-18'")
        # Recompute the summaries of that date from what is stored (fetching would repair the data), with the
        # raw ledgers' checks.
        selection = dg.AssetSelection.assets(*SUMMARY_TABLES) | \
            dg.AssetSelection.checks_for_assets("funds_ledger", "fees_ledger")
        result = dg.materialize([ledger_entries], instance=instance, resources=resources, raise_on_error=False,
                                selection=selection, partition_key="2026-11-18")
        evaluations = {(e.asset_check_key.asset_key.to_user_string(), e.asset_check_key.name): e
                       for e in check_evaluations(instance, result.run_id)}  # one date: one each
        check = next(c for c in ALL_CHECKS if c.name == check_name and c.asset in (
            "fees_ledger" if check_name == "fees_retained_mirror" else "funds_ledger", "funds_ledger"))
        failed = {key for key, evaluation in evaluations.items() if not evaluation.passed}
        assert (check.asset, check_name) in failed
        assert len(evaluations) == len(ALL_CHECKS) + 1  # and every tracked ledger-day of the date is stored
        assert evaluations[("funds_ledger", "all_tracked_ledgers_stored")].passed
        evaluation = evaluations[(check.asset, check_name)]
        assert evaluation.severity == (dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN)
        assert evaluation.partition == "2026-11-18" and evaluation.metadata["failing_ledgers"].value == ["302321"]
        days = summary_days(data)
        assert {("405512", "2026-11-18"), ("517734", "2026-11-18")} <= days  # the clean ledgers: summarized
        spec = next(s for s in ledger_entries.check_specs if s.name == check_name and s.asset_key.path == [check.asset])
        assert spec.blocking == check.blocking  # what the UI labels it
        if check.blocking:  # wrong data: no summary for that ledger-day, and the run says which, once
            assert ("302321", "2026-11-18") not in days and not result.success
            failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
            assert "302321 on 2026-11-18" in str(failure.step_failure_data.error)
            assert not any(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in result.all_events)
        else:  # doubtful data: summarized, and warned about
            assert ("302321", "2026-11-18") in days and result.success


def test_a_summary_that_does_not_add_up_fails_its_check(quiet_day: duckdb.DuckDBPyConnection) -> None:
    keys = [("L1", "2026-03-02")]
    summarize(quiet_day, keys, RULES)
    today = date(2026, 3, 3)
    assert not any(run_checks(quiet_day, keys, ALL_CHECKS, RULES, today).values())
    quiet_day.execute("UPDATE daily_payout_summary SET captured_amount = captured_amount - 1")
    failures = {c.name: found for c, found in run_checks(quiet_day, keys, ALL_CHECKS, RULES, today).items() if found}
    assert list(failures) == ["summary_totals"]


def test_a_ledger_with_no_recent_closed_date_is_flagged(quiet_day: duckdb.DuckDBPyConnection) -> None:
    fresh = next(c for c in ALL_CHECKS if c.name == "fresh_closed_dates")
    keys = [("L1", "2026-03-02")]
    assert run_checks(quiet_day, keys, [fresh], RULES, today=date(2026, 3, 7))[fresh] == []
    stale = run_checks(quiet_day, keys, [fresh], RULES, today=date(2026, 3, 8))[fresh]
    assert [(f.ledger_id, f.ledger_date) for f in stale] == [("L1", "2026-03-02")] and not fresh.blocking
