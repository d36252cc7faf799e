"""Shared fixtures: a real simulator on loopback, and clients pointed at it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import httpx
import pytest

from report_assets.core.checks import Check, Finding
from report_assets.defs.ledgers.assets import ledger_step
from report_assets.defs.partitions import ledger_dates
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import ledgers_for_run, read_catalog, refresh_catalog
from report_assets.pipeline.ingest_process import ingest_here
from report_assets.pipeline.ingestion import BatchOutcome, IngestOptions
from report_assets.pipeline.planning import plan_dates
from report_assets.report_api import ApiSettings, ReportApiClient, RetrySettings, Secret
from report_assets.settings import Settings, load_settings
from report_assets.simulator.app import SimClock, SimulatorState
from report_assets.simulator.faults import FaultSettings
from report_assets.simulator.server import ThreadedSimulator
from report_assets.simulator.world import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SUBSCRIPTION_KEY,
    Credentials,
    World,
    default_ledgers,
)
from report_assets.transforms.accounts import DEFAULT_MAP, load_account_map
from report_assets.transforms.summaries import Rules

# A Wednesday at 12:00 UTC: 13:00 in Oslo and Copenhagen, 14:00 in Helsinki.
FROZEN_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FAST_RETRY = RetrySettings(max_attempts=6, max_total_seconds=60, initial_backoff=0.01, max_backoff=0.05)


# What the summaries and checks take from the settings, as the defaults give them.
RULES = Rules(load_account_map(DEFAULT_MAP), freshness_days=5)


def store_directly(sim: Sim, data: DataDir, first: str, last: str) -> list[BatchOutcome]:
    """Stores the ledger dates ``first`` to ``last`` of every ledger of ``sim`` as the ledger step's pipeline does
    (the catalog, the plans, fetching, the lake, the warehouse, the checks and summaries), but without Dagster:
    for fixtures whose tests are about the stored data, not what Dagster records of it."""
    days = [(date.fromisoformat(first) + timedelta(days=n)).isoformat()
            for n in range((date.fromisoformat(last) - date.fromisoformat(first)).days + 1)]
    now = datetime.now(UTC)
    with ReportApiClient(settings_for(sim)) as client:
        refresh_catalog(client.list_ledgers(), data.lake, DEFAULTS.timezone, now, {})
        timezones = ledgers_for_run(read_catalog(data.lake), None, [])
        plans = plan_dates(days, timezones, data.status.states(days[0], days[-1]), now)
        return list(ingest_here(client, data, plans, IngestOptions(source="simulator", rules=RULES), print))


def said(findings: Mapping[Check, list[Finding]], name: str) -> list[str]:
    """What the check ``name`` found, as the UI lists it."""
    return [str(f) for check, found in findings.items() if check.name == name for f in found]


def project_settings(**env: str) -> Settings:
    """The settings a code location reads from these ``REPORT_ASSETS_*`` variables and no others."""
    return load_settings(env)


DEFAULTS = project_settings()
# The ledger step as the code location builds it with the default settings; the tests give it their resources.
LEDGER_STEP = ledger_step(DEFAULTS, ledger_dates(DEFAULTS))


class Sim:
    """A running simulator plus helpers to steer it the way a test needs."""

    def __init__(self, server: ThreadedSimulator) -> None:
        self.server = server
        self.state = server.state
        self.base_url = server.base_url

    def control(self, **changes: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.base_url}/_simulator/control", json=changes)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/_simulator/stats").json()

    def requests(self) -> list[str]:
        """Every request the simulator was sent, as "METHOD /path", read in this process (a production-like
        simulator has no /_simulator/ path to ask)."""
        return list(self.state.stats.request_log)

    def ledger_days_read(self) -> dict[str, int]:
        """How often each ledger-day and topic was asked for (its first page), as "ledger topic date"."""
        return httpx.get(f"{self.base_url}/_simulator/stats", params={"detail": "1"}).json()["ledger_days_read"]


SimFactory = Callable[..., Sim]


def free_port() -> int:
    """A loopback port free now, for a server started in another process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def start_simulator() -> Iterator[SimFactory]:
    servers: list[ThreadedSimulator] = []

    def start(
        world: World | None = None,
        faults: FaultSettings | None = None,
        credentials: Credentials | None = None,
        now: datetime = FROZEN_NOW,
        production_like: bool = False,
        **world_changes: Any,
    ) -> Sim:
        world = world or World(ledgers=default_ledgers(3, 200))
        if world_changes:
            world = replace(world, **world_changes)
        state = SimulatorState(world, credentials=credentials, faults=faults, clock=SimClock(now),
                               production_like=production_like)
        server = ThreadedSimulator(state).start()
        servers.append(server)
        return Sim(server)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sim(start_simulator: SimFactory) -> Sim:
    """Three ledgers of about 200 captures a weekday: small enough to read many days quickly."""
    return start_simulator()


def settings_for(sim: Sim, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": Secret(DEFAULT_CLIENT_SECRET),
        "subscription_key": Secret(DEFAULT_SUBSCRIPTION_KEY),
        "base_url": sim.base_url,
        "retry": FAST_RETRY,
        "timeout_seconds": 10.0,
    }
    if overrides.get("flow") == "partner":
        values["subscription_key"] = None
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def make_client(sim: Sim) -> Iterator[Callable[..., ReportApiClient]]:
    clients: list[ReportApiClient] = []

    def make(target: Sim | None = None, **overrides: Any) -> ReportApiClient:
        client = ReportApiClient(settings_for(target or sim, **overrides))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """The check evaluations a run recorded, from the instance's log: the ledger step logs them per date as it
    goes, which a run result's own event list does not carry."""
    return [entry.dagster_event.asset_check_evaluation_data for entry in instance.all_logs(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION) if entry.dagster_event]


@pytest.fixture(scope="session", autouse=True)
def ledger_step_fetches_in_process() -> Iterator[None]:
    """Runs of the ledger step inside a test's process fetch in that process (``ingest_here``) whatever their size:
    a child's start-up for each would be most of a small run's time. Runs in processes of their own (the main job,
    the dagster CLI, the daemon's runs) choose by ``REPORT_ASSETS_IN_PROCESS_UP_TO``, so the integration and system
    tiers test both; test_ingest_process and test_intraday call ``ingest`` itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("report_assets.defs.ledgers.assets.ingest",
                      lambda client, data, plans, options, say, child: ingest_here(client, data, plans, options, say))
        patch.setattr("report_assets.defs.ledgers.assets.prestart", lambda *args: nullcontext())
        yield
