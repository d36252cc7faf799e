"""Bad pages: each breaks the contract in one way; the client names where and hands nothing on."""

from __future__ import annotations

import itertools

import pytest

from report_assets.report_api.errors import PageValidationError
from report_assets_tests.conftest import Sim, SimFactory

DAY = "2026-11-20"
EXPECTED_PROBLEM = {
    "not-json": "the body is not valid JSON",
    "items-missing": "'items' is missing",
    "items-not-list": "'items' is a dict, not a list",
    "has-more-string": "'hasMore' is 'true', not a JSON boolean",
    "try-later-string": "'tryLater' is 'false', not a JSON boolean",
    "amount-not-integer": "amount is",
    "balance-mismatch": "balanceAfter",
    "chain-broken": "balance chain broken",
    "currency-change": "currency changes from NOK to SEK",
}


@pytest.fixture(params=[50, 100], ids=["entry-by-entry", "whole-page"])  # the day has 234 entries
def paged(start_simulator: SimFactory, request: pytest.FixtureRequest) -> Sim:
    """Pages shorter than WHOLE_PAGE_MIN are checked entry by entry, longer ones as a whole first: both must
    find every problem and name it the same way."""
    return start_simulator(page_size=request.param)


@pytest.mark.parametrize("kind", sorted(EXPECTED_PROBLEM))
@pytest.mark.parametrize("page", [1, 2])
def test_a_bad_page_raises_an_error_naming_where_and_nothing_is_handed_on(
    paged: Sim, make_client, kind: str, page: int
) -> None:
    paged.control(corruptions=[{"ledger_id": "302321", "topic": "funds", "ledger_date": DAY, "page": page,
                                "kind": kind}])
    client = make_client(paged)
    handed_on: list[dict] = []
    with pytest.raises(PageValidationError) as raised, client.read_date("302321", "funds", DAY) as day:
        handed_on.extend(entry for page_items in day.iter_pages() for entry in page_items)
    message = str(raised.value)
    assert f"ledger 302321, topic funds, date {DAY}, page {page}" in message
    assert EXPECTED_PROBLEM[kind] in message
    assert "Nothing from this ledger-day was handed on" in message and "Re-run" in message
    assert handed_on == []


def test_the_same_day_reads_whole_once_the_bad_page_is_gone(paged: Sim, make_client) -> None:
    paged.control(corruptions=[{"ledger_id": "302321", "topic": "fees", "ledger_date": DAY, "page": 2,
                                "kind": "chain-broken"}])
    client = make_client(paged)
    with pytest.raises(PageValidationError):
        client.read_date("302321", "fees", DAY)
    paged.control(corruptions=[])
    entries = client.read_date("302321", "fees", DAY).entries()
    assert all(b["balanceBefore"] == a["balanceAfter"] for a, b in itertools.pairwise(entries))


def test_a_persistently_malformed_body_is_retried_then_reported_as_a_bad_page(paged: Sim, make_client) -> None:
    paged.control(corruptions=[{"ledger_id": "302321", "topic": "funds", "ledger_date": DAY, "page": 1,
                                "kind": "not-json"}])
    with pytest.raises(PageValidationError, match="not valid JSON"):
        make_client(paged).read_date("302321", "funds", DAY)
    assert paged.stats()["requests"]["dates"] == 6  # one attempt and five retries, in case it was a glitch


def test_unknown_fields_are_ignored(paged: Sim, make_client) -> None:
    client = make_client(paged)
    clean = client.read_date("405512", "funds", DAY).entries()
    paged.control(corruptions=[{"ledger_id": "405512", "topic": "funds", "ledger_date": DAY, "page": 1,
                                "kind": "unknown-field"}])
    extended = client.read_date("405512", "funds", DAY).entries()
    assert len(extended) == len(clean)
    assert [{k: v for k, v in e.items() if k != "settlementBatch"} for e in extended] == clean


def test_unknown_entry_types_pass_through_and_are_counted(start_simulator: SimFactory, make_client) -> None:
    from dataclasses import replace

    from report_assets.simulator.world import World, default_ledgers

    ledgers = tuple(replace(s, unknown_entry_rate=1.0) for s in default_ledgers(1, 100))
    sim = start_simulator(World(ledgers=ledgers))
    with make_client(sim).read_date("302321", "funds", DAY) as day:
        entries = day.entries()
    unknown = [e for e in entries if e["entryType"] == "interest-credit"]
    assert len(unknown) == 1 and unknown[0]["amount"] > 0
    assert day.unknown_entry_types == {"interest-credit": 1}
