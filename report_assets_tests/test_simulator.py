"""The simulator is deterministic and realistic: what NOTES.md says of production holds of its data."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from report_assets.report_api.entry_schema import ENTRY_TYPES_BY_TOPIC
from report_assets.simulator.generator import LedgerGenerator, iter_dates
from report_assets.simulator.process import SimulatorProcess
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import Sim

TIME_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
MONTH = (date(2026, 10, 1), date(2026, 10, 31))


def raw_page(base_url: str, path: str, credentials: tuple[str, str, str]) -> bytes:
    client_id, secret, key = credentials
    token = httpx.post(f"{base_url}/accesstoken/get", headers={
        "client_id": client_id, "client_secret": secret, "Ocp-Apim-Subscription-Key": key}).json()["access_token"]
    response = httpx.get(f"{base_url}{path}", headers={"Authorization": f"Bearer {token}",
                                                       "Ocp-Apim-Subscription-Key": key})
    response.raise_for_status()
    return response.content


@pytest.mark.integration
def test_same_seed_gives_byte_identical_responses_in_other_processes_whatever_the_credentials() -> None:
    path = "/report/v2/ledgers/517734/fees/dates/2023-03-01?includeGDPRSensitiveData=true"
    a_creds = ("id-a", "secret-a", "key-a")
    b_creds = ("id-b", "secret-b", "key-b")
    args = ["--captures-per-day", "300"]
    with SimulatorProcess.start([*args, "--client-id", "id-a", "--client-secret", "secret-a",
                                 "--subscription-key", "key-a"]) as a, \
         SimulatorProcess.start([*args, "--client-id", "id-b", "--client-secret", "secret-b",
                                 "--subscription-key", "key-b"]) as b, \
         SimulatorProcess.start([*args, "--seed", "1"]) as other:
        first = raw_page(a.base_url, path, a_creds)
        assert a.port != b.port
        assert raw_page(b.base_url, path, b_creds) == first
        assert raw_page(a.base_url, path, a_creds) == first  # and again later, from a warm cache
        default = ("simulator-client-id", "simulator-client-secret", "simulator-subscription-key")
        assert raw_page(other.base_url, path, default) != first
    assert len(first) > 10_000


def test_a_date_is_generated_without_the_history_before_it() -> None:
    spec = default_ledgers(3, 1000)[2]  # gross settlement: its fees look back furthest, to the 1st
    fresh = LedgerGenerator(2026, spec)
    opening, entries = fresh.day("fees", date(2021, 3, 31) + timedelta(days=400))
    looked_back = fresh.captures.cache_info().currsize
    assert looked_back <= 40  # about a month of days, not the years since 2022-01-01
    walked = LedgerGenerator(2026, spec)
    for day in iter_dates(date(2022, 4, 20), date(2022, 5, 5)):
        walked.day("fees", day)
    assert walked.day("fees", date(2022, 5, 5)) == (opening, entries)


@pytest.mark.volume
def test_volume_per_day_ranges_from_nothing_to_more_than_200000_entries() -> None:
    quiet, busy = default_ledgers(2, 0), default_ledgers(1, 250_000)
    opening, entries = LedgerGenerator(1, quiet[1]).day("funds", date(2026, 3, 6))
    assert entries == [] and opening == quiet[1].reserve
    _, entries = LedgerGenerator(1, busy[0]).day("funds", date(2026, 3, 6))  # a Friday
    assert len(entries) > 200_000
    assert sum(e.amount for e in entries) == 0  # a net-settlement NOK day pays out to zero


@pytest.fixture(scope="module")
def month() -> dict[tuple[str, str, date], list[dict[str, Any]]]:
    """October 2026 of the three default ledgers, both topics, read over HTTP."""
    from report_assets.report_api import ReportApiClient
    from report_assets.simulator.app import SimClock, SimulatorState
    from report_assets.simulator.server import ThreadedSimulator
    from report_assets_tests.conftest import FROZEN_NOW, settings_for

    world = World(ledgers=default_ledgers(3, 200))
    with ThreadedSimulator(SimulatorState(world, clock=SimClock(FROZEN_NOW))) as server, \
            ReportApiClient(settings_for(Sim(server))) as client:
        return {
            (spec.ledger_id, topic, day): client.read_date(spec.ledger_id, topic, day).entries()
            for spec in world.ledgers for topic in ("funds", "fees")
            for day in iter_dates(MONTH[0] - timedelta(days=1), MONTH[1])
        }


def days_of(month: dict, ledger_id: str, topic: str) -> list[tuple[date, list[dict[str, Any]]]]:
    return sorted((day, entries) for (lid, t, day), entries in month.items()
                  if lid == ledger_id and t == topic and day >= MONTH[0])


@pytest.mark.parametrize("ledger_id", ["302321", "405512", "517734"])
@pytest.mark.parametrize("topic", ["funds", "fees"])
def test_balance_chains_are_continuous_within_and_across_days(month: dict, ledger_id: str, topic: str) -> None:
    previous = month[(ledger_id, topic, MONTH[0] - timedelta(days=1))]
    balance = previous[-1]["balanceAfter"]
    for _, entries in days_of(month, ledger_id, topic):
        for entry in entries:
            assert entry["balanceBefore"] == balance
            assert entry["balanceAfter"] == entry["balanceBefore"] + entry["amount"]
            balance = entry["balanceAfter"]


@pytest.mark.parametrize(("ledger_id", "currency", "zone"),
                         [("302321", "NOK", "Europe/Oslo"), ("405512", "DKK", "Europe/Copenhagen"),
                          ("517734", "EUR", "Europe/Helsinki")])
def test_entries_carry_currency_dates_and_times_of_their_ledger(month: dict, ledger_id: str, currency: str,
                                                                zone: str) -> None:
    for topic in ("funds", "fees"):
        for day, entries in days_of(month, ledger_id, topic):
            start = datetime.combine(day, datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)
            for entry in entries:
                assert entry["currency"] == currency and entry["ledgerDate"] == day.isoformat()
                assert TIME_FORMAT.match(entry["time"])
                assert start <= datetime.fromisoformat(entry["time"]) < end
            assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)


@pytest.mark.parametrize("ledger_id", ["302321", "405512", "517734"])
def test_every_entry_type_of_the_settlement_kind_appears_in_a_month_with_its_sign(month: dict,
                                                                                  ledger_id: str) -> None:
    gross = ledger_id == "517734"
    expected = {
        "funds": {"capture", "refund", "payout-scheduled", "payout-aborted", "retained-disputed-capture",
                  "returned-disputed-capture", "correction", "credit-note"} | (set() if gross else {"fees-retained"})
        | ({"top-up"} if ledger_id == "302321" else set()),
        "fees": {"capture-fee", "service-fee", "credit-note", "correction"}
        | ({"fees-invoiced"} if gross else {"fees-retained"}),
    }
    for topic in ("funds", "fees"):
        seen: Counter[str] = Counter()
        for _, entries in days_of(month, ledger_id, topic):
            for entry in entries:
                seen[entry["entryType"]] += 1
                sign = ENTRY_TYPES_BY_TOPIC[topic][entry["entryType"]]
                if entry["entryType"] == "correction" and entry["reference"].startswith("reserve-correction"):
                    continue
                assert sign == 0 or (entry["amount"] > 0) == (sign > 0), entry
        assert set(seen) == expected[topic]


@pytest.mark.parametrize(("ledger_id", "reserve"), [("302321", 0), ("405512", 2_500_000), ("517734", 0)])
def test_payouts_end_their_day_at_the_reserve_with_increasing_numbers(month: dict, ledger_id: str,
                                                                      reserve: int) -> None:
    numbers = []
    for day, entries in days_of(month, ledger_id, "funds"):
        payouts = [e for e in entries if e["entryType"] == "payout-scheduled"]
        if not payouts:
            continue
        assert payouts == [entries[-1]] and entries[-1]["balanceAfter"] == reserve
        lid, number = entries[-1]["pspReference"].split("-")
        assert lid == ledger_id and entries[-1]["recipientHandle"] is None
        assert ("reference" in entries[-1]) == (ledger_id != "302321")  # Norway's bank text is missing
        numbers.append(int(number))
        assert day.weekday() < 5
    assert len(numbers) >= 18 and numbers == sorted(set(numbers))
    if reserve:
        closes = [entries[-1]["balanceAfter"] for _, entries in days_of(month, ledger_id, "funds")]
        assert min(closes) >= reserve  # a rolling reserve: the balance never returns to zero


def test_negative_stretches_have_no_payout_and_end_with_a_top_up(month: dict) -> None:
    days = days_of(month, "302321", "funds")
    negative = [day for day, entries in days if entries[-1]["balanceAfter"] < 0]
    assert len(negative) >= 2
    for day in negative:
        assert not any(e["entryType"] == "payout-scheduled" for e in month[("302321", "funds", day)])
    top_ups = [(day, e) for day, entries in days for e in entries if e["entryType"] == "top-up"]
    assert top_ups
    for day, top_up in top_ups:
        assert top_up["balanceBefore"] < 0 and top_up["balanceAfter"] == 0
        assert day - timedelta(days=1) in negative


def test_capture_fees_share_the_capture_psp_reference_some_on_the_next_date(month: dict) -> None:
    captures = {e["pspReference"]: (day, e) for day, entries in days_of(month, "302321", "funds")
                for e in entries if e["entryType"] == "capture"}
    late = 0
    for day, entries in days_of(month, "302321", "fees"):
        for fee in (e for e in entries if e["entryType"] == "capture-fee"):
            if fee["pspReference"] not in captures:
                assert day == MONTH[0]  # its capture was on the day before the month
                continue
            capture_day, capture = captures[fee["pspReference"]]
            assert fee["reference"] == capture["reference"]
            assert fee["recipientHandle"] == capture["recipientHandle"]
            assert day - capture_day in (timedelta(0), timedelta(days=1))
            late += day != capture_day
    assert late > 5


@pytest.mark.parametrize("ledger_id", ["302321", "405512"])
def test_fees_retained_on_funds_mirrors_the_fees_ledger(month: dict, ledger_id: str) -> None:
    for day, fees in days_of(month, ledger_id, "fees"):
        on_fees = [e for e in fees if e["entryType"] == "fees-retained"]
        on_funds = [e for e in month[(ledger_id, "funds", day)] if e["entryType"] == "fees-retained"]
        assert [(e["pspReference"], -e["amount"]) for e in on_fees] == \
            [(e["pspReference"], e["amount"]) for e in on_funds]
        assert fees[-1]["balanceAfter"] == 0  # net settlement: each day's fees are retained


def test_gross_settlement_invoices_a_month_of_fees_on_the_first(month: dict) -> None:
    fees = days_of(month, "517734", "fees")
    invoiced = [e for _, entries in fees for e in entries if e["entryType"] == "fees-invoiced"]
    assert len(invoiced) == 1 and invoiced[0]["ledgerDate"] == "2026-10-01"
    assert invoiced[0]["balanceAfter"] == 0 and invoiced[0]["amount"] > 0
    assert all(e["entryType"] != "fees-retained" for _, entries in days_of(month, "517734", "funds")
               for e in entries)
    assert fees[-1][1][-1]["balanceAfter"] < invoiced[0]["amount"] * -0.5  # fees pile up through the month


def test_disputes_retain_and_return_the_captured_amount(month: dict) -> None:
    disputes: dict[str, list[int]] = defaultdict(list)
    for _, entries in days_of(month, "405512", "funds"):
        for e in entries:
            if "disputed" in e["entryType"]:
                disputes[e["pspReference"]].append(e["amount"])
    assert disputes
    for amounts in disputes.values():
        assert amounts[0] < 0 and all(abs(a) == abs(amounts[0]) for a in amounts)


def test_weekdays_are_busier_than_weekends(month: dict) -> None:
    counts = {day: sum(e["entryType"] == "capture" for e in entries)
              for day, entries in days_of(month, "302321", "funds")}
    weekday = sorted(c for d, c in counts.items() if d.weekday() < 5)
    weekend = sorted(c for d, c in counts.items() if d.weekday() >= 5)
    assert weekend[len(weekend) // 2] < 0.7 * weekday[len(weekday) // 2]


def test_past_dates_can_be_held_open_and_future_dates_are_open_and_empty(sim: Sim, make_client) -> None:
    client = make_client()
    closed = client.read_date("302321", "funds", "2026-10-31")
    sim.control(open_dates=["2026-10-31"])  # e.g. monthly settlement
    held = client.read_date("302321", "funds", "2026-10-31")
    assert held.is_open and not closed.is_open
    assert held.entries() == closed.entries()
    assert not client.read_date("302321", "funds", "2026-10-30").is_open
    future = client.read_date("302321", "funds", "2026-12-01")
    assert future.is_open and future.entry_count == 0
    before_history = client.read_date("302321", "funds", "2021-06-01")
    assert not before_history.is_open and before_history.entry_count == 0


def test_tokens_expire_on_the_simulator_clock(sim: Sim) -> None:
    headers = {"client_id": "simulator-client-id", "client_secret": "simulator-client-secret",
               "Ocp-Apim-Subscription-Key": "simulator-subscription-key"}
    body = httpx.post(f"{sim.base_url}/accesstoken/get", headers=headers).json()
    assert isinstance(body["expires_in"], str) and int(body["expires_in"]) > 86_000
    call = {"Authorization": f"Bearer {body['access_token']}", "Ocp-Apim-Subscription-Key": headers[
        "Ocp-Apim-Subscription-Key"]}
    assert httpx.get(f"{sim.base_url}/settlement/v1/ledgers", headers=call).status_code == 200
    sim.control(advance_seconds=86_400)
    expired = httpx.get(f"{sim.base_url}/settlement/v1/ledgers", headers=call)
    assert expired.status_code == 401 and expired.json()["code"] == "Unauthorized"
