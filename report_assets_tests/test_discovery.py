"""Ledger discovery against the simulator: new ledgers are recorded with their currency and time zone and get
their history (and nothing else is re-read); withdrawn ones keep their data; each ledger has its own today."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from report_assets.core.ledger_day import LedgerDay
from report_assets.defs.automation.discovery import LEDGER_CATALOG, ledger_discovery_sensor
from report_assets.defs.partitions import ledger_dates
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import (
    TrackingError,
    infer_timezone,
    ledgers_for_run,
    read_catalog,
)
from report_assets.lake.status import DayState
from report_assets.pipeline.planning import plan_dates
from report_assets.settings import ENV_LEDGER_TIMEZONES, SettingError, load_settings
from report_assets_tests.conftest import DEFAULTS, Sim
from report_assets_tests.conftest import LEDGER_STEP as ledger_entries

EXPECTED = {"302321": ("NOK", "Europe/Oslo"), "405512": ("DKK", "Europe/Copenhagen"),
            "517734": ("EUR", "Europe/Helsinki")}


def resources(sim: Sim, data: DataDir) -> dict[str, object]:
    return {"report_api": ReportApiResource(base_url=sim.base_url), "data_dir": DataDirResource(path=str(data.root))}


DATES = ledger_dates(DEFAULTS)
SENSOR = ledger_discovery_sensor(DEFAULTS, DATES)


def tick(instance: dg.DagsterInstance, sim: Sim, data: DataDir) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, resources=resources(sim, data)) as context:
        result = SENSOR(context)
    assert isinstance(result, dg.SensorResult)
    return result


def history_ledgers(result: dg.SensorResult) -> list[list[str]]:
    return [r.run_config["ops"]["ledger_entries"]["config"]["ledger_ids"] for r in result.run_requests or []]


def catalog_rows(result: dg.SensorResult) -> dict[str, dict]:
    (event,) = result.asset_events
    assert event.asset_key == LEDGER_CATALOG
    return {r.data["ledger_id"]: r.data for r in event.metadata["ledgers"].value.records}


def run(instance: dg.DagsterInstance, sim: Sim, data: DataDir, request: dg.RunRequest | None = None,
        dates: tuple[str, str] = ("2026-11-17", "2026-11-18")) -> dg.ExecuteInProcessResult:
    """A run over ``dates`` with the config of ``request`` (its history range would be years long)."""
    return dg.materialize([ledger_entries], instance=instance, resources=resources(sim, data),
                          run_config=request.run_config if request else None,
                          tags={"dagster/asset_partition_range_start": dates[0],
                                "dagster/asset_partition_range_end": dates[1]})


def test_new_ledgers_get_their_history_alone_and_withdrawn_ones_keep_their_data(sim: Sim, tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        sim.control(accessible_ledgers=["302321"])
        first = tick(instance, sim, data)
        assert history_ledgers(first) == [["302321"]]
        request = first.run_requests[0]
        assert request.tags["dagster/asset_partition_range_start"] == DATES.get_first_partition_key()
        assert request.tags["dagster/asset_partition_range_end"] == DATES.get_last_partition_key()
        assert catalog_rows(first)["302321"]["currency"] == "NOK"
        assert run(instance, sim, data, request).success

        sim.control(accessible_ledgers=["302321", "405512", "517734"])  # a merchant granted access
        second = tick(instance, sim, data)
        assert history_ledgers(second) == [["405512", "517734"]]
        rows = catalog_rows(second)  # what the UI shows of the ledger_catalog asset
        assert {i: (r["currency"], r["timezone"]) for i, r in rows.items()} == EXPECTED
        assert {r["timezone_source"] for r in rows.values()} == {"owner"}
        catalog = read_catalog(data.lake)
        assert {i: (r["currency"], r["timezone"]) for i, r in catalog.items()} == EXPECTED
        assert catalog["405512"]["owner"] == "business:DK:CVR 12345678" and catalog["405512"]["listed"]
        first_seen = catalog["302321"]["first_seen"]
        before = Counter(sim.ledger_days_read())
        assert run(instance, sim, data, second.run_requests[0]).success
        read = {key.rsplit(" ", 2)[0] for key in Counter(sim.ledger_days_read()) - before}
        assert read == {"405512", "517734"}  # their history; 302321's stored days were not read again

        quiet = tick(instance, sim, data)
        assert quiet.run_requests == [] and quiet.asset_events == []  # nothing new: nothing asked, nothing shown
        assert read_catalog(data.lake)["302321"]["last_seen"] > first_seen

        sim.control(accessible_ledgers=["405512", "517734"])  # access to 302321 withdrawn
        with duckdb.connect(str(data.warehouse), read_only=True) as connection:
            kept = connection.execute("SELECT count(*) FROM funds_ledger WHERE ledger_id = '302321'").fetchone()
        withdrawn = tick(instance, sim, data)
        assert withdrawn.run_requests == []
        assert catalog_rows(withdrawn)["302321"]["listed"] is False
        record = read_catalog(data.lake)["302321"]
        assert (record["listed"], record["currency"], record["first_seen"]) == (False, "NOK", first_seen)
        assert withdrawn.asset_events[0].metadata["withdrawn"].value == "302321"  # and logged as a warning
        before = Counter(sim.ledger_days_read())
        assert run(instance, sim, data, dates=("2026-11-16", "2026-11-18")).success  # no longer fetched ...
        assert {key.split()[0] for key in Counter(sim.ledger_days_read()) - before} == {"405512", "517734"}
        with duckdb.connect(str(data.warehouse), read_only=True) as connection:  # ... and its data is kept
            assert connection.execute("SELECT count(*) FROM funds_ledger WHERE ledger_id = '302321'").fetchone() \
                == kept != (0,)
            catalog_view = "SELECT ledger_id, currency, timezone, listed FROM ledgers ORDER BY 1"
            assert connection.execute(catalog_view).fetchall() == [  # the catalog, beside the ledgers it describes
                ("302321", "NOK", "Europe/Oslo", False), ("405512", "DKK", "Europe/Copenhagen", True),
                ("517734", "EUR", "Europe/Helsinki", True)]


@pytest.mark.parametrize(("item", "expected"), [
    ({"owner": {"scheme": "business:FI:Y-tunnus", "id": "1"}, "currency": "NOK"}, ("Europe/Helsinki", "owner")),
    ({"payoutBankAccount": {"scheme": "BBAN:DK", "id": "1"}, "currency": "EUR"},
     ("Europe/Copenhagen", "payout_account")),
    ({"settlesForRecipientHandles": ["api:123456", "DK:90601"]}, ("Europe/Copenhagen", "recipient_handle")),
    ({"settlesForRecipientHandles": ["api:123456"], "currency": "EUR"}, ("Europe/Helsinki", "currency")),
    ({"currency": "SEK"}, ("Europe/Oslo", "default")),
    ({}, ("Europe/Oslo", "default")),
])
def test_the_time_zone_is_inferred_from_the_most_telling_field(item: dict, expected: tuple[str, str]) -> None:
    assert infer_timezone(item, "Europe/Oslo") == expected


def test_a_configured_time_zone_wins_and_a_bad_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LEDGER_TIMEZONES, "517734=Europe/Oslo, 405512=Europe/Copenhagen")
    assert load_settings().ledger_timezones == {"517734": "Europe/Oslo", "405512": "Europe/Copenhagen"}
    monkeypatch.setenv(ENV_LEDGER_TIMEZONES, "517734=Europe/Atlantis")
    with pytest.raises(SettingError, match="REPORT_ASSETS_LEDGER_TIMEZONES='517734=Europe/Atlantis'"):
        load_settings()


def test_each_ledger_gets_its_own_today() -> None:
    """At 23:30 UTC it is already the 21st in Oslo but still the 20th in Reykjavik: a ledger there is not
    asked for a date that has not begun for it."""
    now = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    zones = {"302321": "Europe/Oslo", "900001": "Atlantic/Reykjavik"}
    closed = {LedgerDay("2026-11-20", "302321"): DayState("closed", None)}
    plans = {p.ledger_date: (p.fetch, p.skipped_closed, p.not_begun)
             for p in plan_dates(["2026-11-20", "2026-11-21"], zones, closed, now)}
    assert plans == {"2026-11-20": (["900001"], ["302321"], []), "2026-11-21": (["302321"], [], ["900001"])}


def test_an_allow_list_or_a_run_naming_a_ledger_the_keys_cannot_read_is_refused_by_name() -> None:
    catalog = {"302321": {"listed": True, "timezone": "Europe/Oslo"},
               "405512": {"listed": False, "timezone": "Europe/Copenhagen"}}  # access withdrawn
    assert ledgers_for_run(catalog, None, []) == {"302321": "Europe/Oslo"}
    assert ledgers_for_run(catalog, frozenset({"302321", "405512"}), []) == {"302321": "Europe/Oslo"}
    with pytest.raises(TrackingError, match=r"999999 cannot be read .* they can read: 302321\. Fix REPORT_ASSETS"):
        ledgers_for_run(catalog, frozenset({"302321", "999999"}), [])
    with pytest.raises(TrackingError, match="405512 cannot be read"):
        ledgers_for_run(catalog, None, ["405512"])
