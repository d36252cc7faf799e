"""The client against the simulator over real loopback HTTP: tokens, headers, paging, the feed, concurrency."""

from __future__ import annotations

import itertools
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from report_assets.report_api import ReportApiClient, Secret
from report_assets.report_api.client import SYSTEM_HEADERS
from report_assets.report_api.errors import (
    ApiUnavailableError,
    AuthenticationError,
    ConfigurationError,
    LedgerAccessError,
    RequestRejectedError,
)
from report_assets.report_api.settings import settings_from_env
from report_assets.simulator.faults import FaultSettings
from report_assets.simulator.world import World, default_ledgers
from report_assets_tests.conftest import Sim, SimFactory, settings_for

CLOSED_DAY = "2026-11-20"


@pytest.mark.parametrize("flow", ["standard", "partner"])
def test_both_token_flows_read_the_same_data_and_reuse_one_token(sim: Sim, make_client, flow: str) -> None:
    client = make_client(flow=flow)
    reads = [client.read_date("302321", topic, CLOSED_DAY).entries() for topic in ("funds", "fees")]
    reads.append(client.read_date("302321", "funds", CLOSED_DAY).entries())
    assert reads[0] == reads[2] and len(reads[0]) > 100
    assert sim.stats()["tokens_issued"] == {flow: 1}


def test_token_is_refreshed_shortly_before_it_expires(sim: Sim) -> None:
    now = [0.0]
    client = ReportApiClient(settings_for(sim, flow="partner"), clock=lambda: now[0])
    with client:
        client.list_ledgers()
        # A partner token says expires_in 898 s; it is refreshed a fifth of that (179.6 s) early, at 718.4 s.
        now[0] = 718.0
        client.list_ledgers()
        assert sim.stats()["tokens_issued"] == {"partner": 1}
        now[0] = 718.5
        client.list_ledgers()
        assert sim.stats()["tokens_issued"] == {"partner": 2}


def test_a_token_that_dies_mid_run_is_refreshed_once_and_the_run_goes_on(sim: Sim, make_client) -> None:
    client = make_client()
    first = client.read_date("302321", "funds", CLOSED_DAY).entries()
    sim.control(advance_seconds=2 * 86_400)  # the server's clock moves on: the cached token has expired
    assert client.read_date("302321", "funds", CLOSED_DAY).entries() == first
    assert sim.stats()["tokens_issued"] == {"standard": 2}


def test_a_token_refused_twice_names_the_credentials_to_check(sim: Sim, make_client) -> None:
    sim.control(faults={"token_ttl_seconds": 0})  # every token is dead on arrival
    client = make_client()
    with pytest.raises(AuthenticationError) as raised:
        client.read_date("302321", "funds", CLOSED_DAY)
    message = str(raised.value)
    assert "ledger 302321, topic funds, date 2026-11-20" in message
    assert "REPORT_API_CLIENT_ID/REPORT_API_CLIENT_SECRET" in message and "401" in message
    assert sim.stats()["tokens_issued"] == {"standard": 2}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"client_secret": Secret("wrong")}, "check REPORT_API_CLIENT_ID and REPORT_API_CLIENT_SECRET"),
        ({"subscription_key": Secret("wrong")}, r"refused the subscription key \(standard flow\)"),
        ({"flow": "partner", "client_id": "wrong"}, "accounting partner"),
    ],
)
def test_bad_keys_say_which_credential_is_wrong(sim: Sim, make_client, overrides: dict, expected: str) -> None:
    with pytest.raises(AuthenticationError, match=expected):
        make_client(**overrides).list_ledgers()


def test_every_call_carries_the_system_headers_and_the_subscription_key(sim: Sim, make_client) -> None:
    make_client().read_date("302321", "funds", CLOSED_DAY)
    assert sim.stats()["system_headers"] == SYSTEM_HEADERS
    assert all(len(value) <= 30 for value in SYSTEM_HEADERS.values())


def test_the_partner_flow_never_sends_a_subscription_key(sim: Sim) -> None:
    with pytest.raises(ConfigurationError, match="must not send a subscription key"):
        settings_for(sim, flow="partner", subscription_key=Secret("x"))


def test_ledgers_are_listed_across_cursor_pages_and_filtered(sim: Sim, make_client) -> None:
    client = make_client()
    ledgers = client.list_ledgers()
    assert [ledger.ledger_id for ledger in ledgers] == ["302321", "405512", "517734"]
    assert sim.stats()["requests"]["ledgers"] == 2  # two per page
    assert [ledger.currency for ledger in ledgers] == ["NOK", "DKK", "EUR"]
    assert [lg.ledger_id for lg in client.list_ledgers("FI:765432")] == ["517734"]
    assert client.list_ledgers("api:000000") == []


def test_a_day_is_read_page_by_page_and_ends_closed(start_simulator: SimFactory, make_client) -> None:
    sim = start_simulator(page_size=50)
    with make_client(sim).read_date("405512", "funds", CLOSED_DAY) as day:
        pages = list(day.iter_pages())
        assert day.pages == len(pages) >= 4 and day.page_size == 50
        assert all(len(page) <= 50 for page in pages)
        assert not day.is_open
        entries = [entry for page in pages for entry in page]
        assert len(entries) == day.entry_count
        assert day.closing_balance == entries[-1]["balanceAfter"] == 2_500_000  # the DKK ledger's reserve
    assert sim.stats()["requests"]["dates"] == day.pages


def test_an_empty_page_after_a_full_one_is_normal(start_simulator: SimFactory, make_client) -> None:
    probe = start_simulator()
    count = make_client(probe).read_date("302321", "fees", CLOSED_DAY).entry_count
    exact = start_simulator(page_size=count)  # the day fills its page exactly: hasMore, then an empty page
    with make_client(exact).read_date("302321", "fees", CLOSED_DAY) as day:
        pages = list(day.iter_pages())
    assert [len(page) for page in pages] == [count, 0]
    assert day.entry_count == count


def test_today_is_open_and_paging_continues_while_it_is(start_simulator: SimFactory, make_client) -> None:
    sim = start_simulator(page_size=20)
    client = make_client(sim)
    with client.read_date("302321", "funds", "2026-11-25") as today:
        assert today.is_open and today.pages > 1  # hasMore and tryLater together: keep paging now
        morning = today.entries()
    assert len(morning) > 0 and all(e["time"] <= "2026-11-25T12:00:00" for e in morning)
    sim.control(advance_seconds=3 * 3600)
    with client.read_date("302321", "funds", "2026-11-25") as later:
        assert later.is_open and later.entries()[: len(morning)] == morning
        assert later.entry_count > len(morning)
    sim.control(advance_seconds=12 * 3600)  # past midnight in Oslo: the date has closed
    with client.read_date("302321", "funds", "2026-11-25") as closed:
        assert not closed.is_open
        assert closed.entries()[-1]["entryType"] == "payout-scheduled"


def test_gdpr_data_only_when_asked_and_asked_on_every_page(start_simulator: SimFactory, make_client) -> None:
    sim = start_simulator(page_size=40)
    client = make_client(sim)
    plain = client.read_date("405512", "funds", CLOSED_DAY).entries()
    assert not any("name" in e for e in plain)
    assert sim.stats()["gdpr_requests"] == 0
    with client.read_date("405512", "funds", CLOSED_DAY, include_gdpr=True) as day:
        with_gdpr = day.entries()
        assert sim.stats()["gdpr_requests"] == day.pages > 1
    named = [e for e in with_gdpr if "name" in e]
    assert named and all(e["recipientHandle"].startswith("DK:") for e in named)
    assert {"maskedPhoneNo", "message"} <= set(named[0])
    api_only = client.read_date("302321", "funds", CLOSED_DAY, include_gdpr=True).entries()  # api: handle
    assert not any("name" in e for e in api_only)


def test_the_feed_resumes_from_a_cursor_and_matches_the_dates(start_simulator: SimFactory, make_client) -> None:
    sim = start_simulator(page_size=150, feed_days=2)
    client = make_client(sim)
    pages = list(client.iter_feed("517734", "fees"))
    assert pages[-1].try_later and not any(p.try_later for p in pages[:-1])
    streamed = [e for p in pages for e in p.items]
    by_dates = [e for d in ("2026-11-23", "2026-11-24", "2026-11-25")
                for e in client.read_date("517734", "fees", d).entries()]
    assert streamed == by_dates
    # At the end, the same cursor comes back with tryLater and nothing new.
    again = list(client.iter_feed("517734", "fees", pages[-1].cursor))
    assert [(p.items, p.cursor, p.try_later) for p in again] == [([], pages[-1].cursor, True)]
    # A client restarted from a persisted cursor continues exactly where the last batch ended.
    resumed = [e for p in client.iter_feed("517734", "fees", pages[1].cursor) for e in p.items]
    assert resumed == streamed[len(pages[0].items) + len(pages[1].items):]
    sim.control(advance_seconds=3600)
    newer = [e for p in client.iter_feed("517734", "fees", pages[-1].cursor) for e in p.items]
    assert newer and newer[0]["balanceBefore"] == streamed[-1]["balanceAfter"]


def test_concurrent_reads_share_a_bounded_pool_of_keep_alive_connections(sim: Sim, make_client) -> None:
    client = make_client(max_connections=3)
    days = [date(2026, 10, 1) + timedelta(days=i) for i in range(12)]
    jobs = [(ledger, topic, d) for ledger in ("302321", "405512") for topic in ("funds", "fees") for d in days]
    with ThreadPoolExecutor(max_workers=12) as pool:
        parallel = list(pool.map(lambda job: client.read_date(*job).entries(), jobs))
    stats = sim.stats()
    assert stats["max_in_flight"] <= 3 and stats["requests"]["dates"] >= len(jobs)
    # Kept alive and shared: a handful of connections for 48 days. (Not exactly 3: on a loaded machine a connection
    # idle past httpx's 5 s keep-alive expiry is replaced by a new one, never more than 3 open at once.)
    assert stats["connections"] <= len(jobs) // 8
    sequential = make_client()
    assert parallel == [sequential.read_date(*job).entries() for job in jobs]


def test_a_large_day_streams_through_a_spool_on_disk(start_simulator: SimFactory, make_client) -> None:
    sim = start_simulator(World(ledgers=default_ledgers(1, 50_000)))
    with make_client(sim).read_date("302321", "fees", "2026-11-18") as day:
        assert day.entry_count > 40_000
        assert day._spool is not None and day._parsed is None  # past the in-memory bound: on disk
        assert max(len(page) for page in day.iter_pages()) == 1000
        entries = day.entries()  # the pages kept before the bound and those spilled after, in order, once each
        assert len(entries) == day.entry_count
        assert all(b["balanceBefore"] == a["balanceAfter"] for a, b in itertools.pairwise(entries))


def test_a_ledger_these_keys_may_not_read_is_an_access_error_not_an_empty_day(sim: Sim, make_client) -> None:
    sim.control(accessible_ledgers=["302321"])
    client = make_client()
    with pytest.raises(LedgerAccessError, match=r"Check that the keys.*MSN") as raised:
        client.read_date("405512", "funds", CLOSED_DAY)
    assert "ledger 405512" in str(raised.value) and "not an empty day" in str(raised.value)
    assert [lg.ledger_id for lg in client.list_ledgers()] == ["302321"]
    assert sim.stats()["requests"]["dates"] == 1  # never retried


def test_an_input_validation_error_is_not_retried(sim: Sim, make_client) -> None:
    with pytest.raises(RequestRejectedError, match=r"topic: must be funds or fees"):
        make_client().read_date("302321", "payments", CLOSED_DAY)
    assert sim.stats()["requests"]["dates"] == 1


def test_retries_are_bounded_and_then_fail_clearly(sim: Sim, make_client, caplog) -> None:
    sim.control(faults={"rate_503": 1.0, "max_consecutive": 1000})
    with pytest.raises(ApiUnavailableError) as raised, caplog.at_level(logging.WARNING):
        make_client().read_date("302321", "funds", CLOSED_DAY)
    assert "ledger 302321, topic funds, date 2026-11-20, page 1" in str(raised.value)
    assert "after 6 attempts" in str(raised.value) and "503" in str(raised.value)
    assert sim.stats()["requests"]["dates"] == 6
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert [f"attempt {n} of 6" in line for n, line in enumerate(retries, 1)] == [True] * 5


def test_retry_after_is_honoured(sim: Sim, make_client, caplog) -> None:
    sim.control(faults={"rate_429": 1.0, "retry_after_seconds": 0.3, "max_consecutive": 1})
    with caplog.at_level(logging.WARNING):
        make_client().read_date("302321", "funds", CLOSED_DAY)
    assert any("429 Too Many Requests" in r.getMessage() and "retrying in 0.30 s" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("429", {"retry_after_seconds": 0}), ("500", {}), ("503", {}), ("slow", {"slow_seconds": 0.6, "rate_slow": 0.2}),
     ("cut", {}), ("malformed", {})],
)
def test_with_each_fault_the_client_returns_exactly_the_same_entries(
    start_simulator: SimFactory, make_client, kind: str, extra: dict, caplog
) -> None:
    clean = start_simulator(page_size=60)
    faulty = start_simulator(page_size=60, faults=FaultSettings(**{f"rate_{kind}": 0.5, "seed": 7, **extra}))
    jobs = [(ledger, topic, d) for ledger in ("302321", "517734") for topic in ("funds", "fees")
            for d in ("2026-11-21", "2026-11-23", "2026-11-25")]
    expected = [make_client(clean).read_date(*job).entries() for job in jobs]
    with caplog.at_level(logging.WARNING):
        client = make_client(faulty, timeout_seconds=0.3)
        assert [client.read_date(*job).entries() for job in jobs] == expected
        assert list(client.iter_feed("302321", "funds")) == list(make_client(clean).iter_feed("302321", "funds"))
        assert client.list_ledgers() == make_client(clean).list_ledgers()
    assert faulty.stats()["faults_injected"][kind] > 5
    assert any("retrying in" in r.getMessage() for r in caplog.records)


def test_base_url_must_be_https_unless_loopback(sim: Sim) -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        settings_for(sim, base_url="http://api.vipps.no")
    assert settings_for(sim, base_url="http://localhost:1").base_url == "http://localhost:1"
    assert settings_for(sim, base_url="https://api.vipps.no").base_url == "https://api.vipps.no"


def test_settings_from_the_environment() -> None:
    assert settings_from_env({}) is None
    with pytest.raises(ConfigurationError, match="REPORT_API_SUBSCRIPTION_KEY not set"):
        settings_from_env({"REPORT_API_CLIENT_ID": "id", "REPORT_API_CLIENT_SECRET": "s"})
    with pytest.raises(ConfigurationError, match="REPORT_API_CLIENT_SECRET not set"):
        settings_from_env({"REPORT_API_CLIENT_ID": "id", "REPORT_API_TOKEN_FLOW": "partner"})
    settings = settings_from_env({"REPORT_API_CLIENT_ID": "id", "REPORT_API_CLIENT_SECRET": "s",
                                  "REPORT_API_TOKEN_FLOW": "partner"})
    assert settings is not None and settings.flow == "partner" and settings.base_url == "https://api.vipps.no"


def test_https_clients_share_one_verifying_tls_context_and_plain_http_ones_trust_no_certificate(sim: Sim) -> None:
    contexts = []
    for url in ("https://api.vipps.no", "https://api.vipps.no", sim.base_url):
        with ReportApiClient(settings_for(sim, base_url=url)) as client:
            contexts.append(client._http._transport._pool._ssl_context)  # type: ignore[attr-defined]
    verifying, again, plain = contexts
    assert verifying is again  # the CA bundle is loaded once a process, not once a client
    for context in (verifying, plain):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert verifying.cert_store_stats()["x509_ca"] > 0
    assert plain.cert_store_stats()["x509_ca"] == 0  # plain HTTP: no certificate can pass
    with ReportApiClient(settings_for(sim)) as client:  # and plain HTTP still works
        assert client.list_ledgers()
