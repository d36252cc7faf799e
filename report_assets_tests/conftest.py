"""Shared fixtures: a real simulator on loopback, and clients pointed at it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import httpx
import pytest

from report_assets.report_api import ApiSettings, ReportApiClient, RetrySettings, Secret
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

# A Wednesday at 12:00 UTC: 13:00 in Oslo and Copenhagen, 14:00 in Helsinki.
FROZEN_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FAST_RETRY = RetrySettings(max_attempts=6, max_total_seconds=60, initial_backoff=0.01, max_backoff=0.05)


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
