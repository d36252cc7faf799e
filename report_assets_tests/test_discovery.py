"""Ledger discovery against the simulator: new ledgers become partitions with their currency and time zone
recorded, withdrawn ones are logged and kept; and the schedule follows each ledger's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from report_assets.assets.ledgers import ledger_entries
from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME
from report_assets.automation.discovery import LEDGER_CATALOG, ledger_discovery_sensor
from report_assets.automation.schedules import ledger_days_to_fetch
from report_assets.data_dir import DataDir
from report_assets.ledger_catalog import ENV_LEDGER_TIMEZONES, configured_timezones, infer_timezone, read_catalog
from report_assets.resources import DataDirResource, ReportApiResource
from report_assets_tests.conftest import Sim

EXPECTED = {"302321": ("NOK", "Europe/Oslo"), "405512": ("DKK", "Europe/Copenhagen"),
            "517734": ("EUR", "Europe/Helsinki")}


def tick(instance: dg.DagsterInstance, sim: Sim, data: Path) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, resources={
        "report_api": ReportApiResource(base_url=sim.base_url), "data_dir": DataDirResource(path=str(data))})
    result = ledger_discovery_sensor(context)
    assert isinstance(result, dg.SensorResult)
    for request in result.dynamic_partitions_requests or []:  # as the daemon would apply them
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def added(result: dg.SensorResult) -> list[list[str]]:
    return [list(r.partition_keys) for r in result.dynamic_partitions_requests or []]


def catalog_rows(result: dg.SensorResult) -> dict[str, dict]:
    (event,) = result.asset_events
    assert event.asset_key == LEDGER_CATALOG
    return {r.data["ledger_id"]: r.data for r in event.metadata["ledgers"].value.records}


def test_new_ledgers_become_partitions_with_currency_and_time_zone_and_withdrawn_ones_are_kept(
    sim: Sim, tmp_path: Path
) -> None:
    data = DataDir(tmp_path / "data")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        sim.control(accessible_ledgers=["302321"])
        first = tick(instance, sim, data.root)
        assert added(first) == [["302321"]]
        assert catalog_rows(first)["302321"]["currency"] == "NOK"
        sim.control(accessible_ledgers=["302321", "405512", "517734"])  # a merchant granted access
        second = tick(instance, sim, data.root)
        assert added(second) == [["405512", "517734"]]
        rows = catalog_rows(second)  # what the UI shows of the ledger_catalog asset
        assert {i: (r["currency"], r["timezone"]) for i, r in rows.items()} == EXPECTED
        assert {r["timezone_source"] for r in rows.values()} == {"owner"}
        catalog = read_catalog(data.ledger_catalog)
        assert {i: (r["currency"], r["timezone"]) for i, r in catalog.items()} == EXPECTED
        assert catalog["405512"]["owner"] == "business:DK:CVR 12345678" and catalog["405512"]["listed"]
        first_seen = catalog["302321"]["first_seen"]

        quiet = tick(instance, sim, data.root)
        assert added(quiet) == [] and quiet.asset_events == []  # nothing new: nothing asked, nothing reported
        assert read_catalog(data.ledger_catalog)["302321"]["last_seen"] > first_seen

        sim.control(accessible_ledgers=["405512", "517734"])  # access to 302321 withdrawn
        withdrawn = tick(instance, sim, data.root)
        assert added(withdrawn) == []  # never deleted: its data stays reachable
        assert list(instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME)) == ["302321", "405512", "517734"]
        assert catalog_rows(withdrawn)["302321"]["listed"] is False
        kept = read_catalog(data.ledger_catalog)["302321"]
        assert (kept["listed"], kept["currency"], kept["first_seen"]) == (False, "NOK", first_seen)
        assert withdrawn.asset_events[0].metadata["withdrawn"].value == "302321"  # and logged as a warning

        # The warehouse offers the catalog as a view, beside the ledgers it describes.
        assert dg.materialize([ledger_entries], instance=instance, partition_key="2026-11-20|405512", resources={
            "report_api": ReportApiResource(base_url=sim.base_url),
            "data_dir": DataDirResource(path=str(data.root))}).success
        with duckdb.connect(str(data.warehouse), read_only=True) as connection:
            catalog_view = "SELECT ledger_id, currency, timezone, listed FROM ledgers ORDER BY 1"
            assert connection.execute(catalog_view).fetchall() == [
                ("302321", "NOK", "Europe/Oslo", False), ("405512", "DKK", "Europe/Copenhagen", True),
                ("517734", "EUR", "Europe/Helsinki", True)]
            assert connection.execute("SELECT DISTINCT f.currency FROM funds_ledger f JOIN ledgers USING (ledger_id)"
                                       ).fetchall() == [("DKK",)]


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
    assert configured_timezones() == {"517734": "Europe/Oslo", "405512": "Europe/Copenhagen"}
    monkeypatch.setenv(ENV_LEDGER_TIMEZONES, "517734=Europe/Atlantis")
    with pytest.raises(ValueError, match="517734"):
        configured_timezones()


def test_each_ledger_gets_its_own_today(tmp_path: Path) -> None:
    """At 23:30 UTC it is already the 21st in Oslo but still the 20th in Reykjavik: a ledger there is not
    asked for a date that has not begun for it."""
    now = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        keys = ledger_days_to_fetch(instance, {"302321": "Europe/Oslo", "900001": "Atlantic/Reykjavik"}, now, 1)
    assert keys == ["2026-11-20|302321", "2026-11-21|302321", "2026-11-19|900001", "2026-11-20|900001"]
