"""Dagster resources: the Report API (production keys, or the embedded simulator) and the data directory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
from pydantic import Field

from report_assets.lake.data_dir import DataDir
from report_assets.report_api import ApiSettings, ReportApiClient, Secret, settings_from_env
from report_assets.report_api.errors import ConfigurationError
from report_assets.report_api.settings import (
    ENV_BASE_URL,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_MSN,
    ENV_SUBSCRIPTION_KEY,
    PRODUCTION_BASE_URL,
    is_loopback_host,
)
from report_assets.settings import Settings
from report_assets.simulator.embedded import deliver_statements, world_of
from report_assets.simulator.process import SimulatorProcess
from report_assets.simulator.world import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_KEY

SIMULATOR = "simulator"
PRODUCTION = "production"


def resolved(value: str | None) -> str | None:
    """A field's value whether or not Dagster has resolved its ``EnvVar``: inside a run it has, but the main job,
    the exports and the sensors' helpers use the resource as ``Definitions`` holds it, where an ``EnvVar`` refuses
    to be read as a string."""
    return value.get_value() if isinstance(value, dg.EnvVar) else value


class ReportApiResource(dg.ConfigurableResource):
    """Reads the Report API: production with the keys from the environment, else the simulator.

    In simulator mode with no ``base_url``, each run starts its own simulator process with the
    default world (the data depends only on the seed, so every process serves the same data).
    """

    source: str = Field(default=SIMULATOR, description="'production' or 'simulator'")
    base_url: str | None = Field(default=None, description="API base URL; a running simulator's in tests")
    client_id: str | None = None
    client_secret: str | None = None
    subscription_key: str | None = None
    merchant_serial_number: str | None = None
    token_flow: str = "standard"
    include_gdpr_data: bool = Field(default=False, description="fetch names, phone numbers and messages")
    max_connections: int = Field(default=8, description="concurrent ledger-day reads and HTTP connections")
    simulator_args: list[str] = Field(default_factory=list, description="options for the embedded simulator")

    def settings(self, base_url: str) -> ApiSettings:
        if self.source == PRODUCTION:
            subscription_key = resolved(self.subscription_key)
            return ApiSettings(
                client_id=resolved(self.client_id) or "",
                client_secret=Secret(resolved(self.client_secret) or ""),
                subscription_key=Secret(subscription_key) if subscription_key else None,
                flow=self.token_flow,  # type: ignore[arg-type]
                merchant_serial_number=resolved(self.merchant_serial_number),
                base_url=base_url,
                max_connections=self.max_connections,
            )
        return ApiSettings(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=Secret(DEFAULT_CLIENT_SECRET),
            subscription_key=Secret(DEFAULT_SUBSCRIPTION_KEY),
            base_url=base_url,
            max_connections=self.max_connections,
        )

    def world(self, client: ReportApiClient) -> dict[str, object] | None:
        """Which world the data comes from, for the data directory's claim: the simulator's seed and data
        options, or a fingerprint of the production keys (a hash: never the keys themselves)."""
        if self.source == PRODUCTION:
            keys = f"{resolved(self.client_id)}|{resolved(self.merchant_serial_number) or ''}"
            return {"keys": hashlib.sha256(keys.encode()).hexdigest()[:12]}
        return world_of(client.settings.base_url)

    def deliver_bank_statements(self, first_dates: Callable[[], dict[str, date]], folder: Path,
                                today: date) -> int | None:
        """On the simulator, its bank's statements of each ledger's payout account, from the month of its first
        stored date (``first_dates``) to this one, written into ``folder``; returns the files written. None in
        production, where the merchant's bank (or an integration) puts them there."""
        if self.source == PRODUCTION:
            return None
        with self.client() as client:
            return deliver_statements(client.settings.base_url, first_dates(), folder, today)

    @contextmanager
    def shared(self) -> Iterator[ReportApiResource]:
        """This resource, or, for the embedded simulator, one pointed at one simulator process started here, to
        serve several runs (discovery, the ledger run, the books' bank) instead of one started for each."""
        if self.source != SIMULATOR or self.base_url:
            yield self
            return
        with SimulatorProcess.start(self.simulator_args) as simulator:
            yield ReportApiResource(source=SIMULATOR, base_url=simulator.base_url,
                                    include_gdpr_data=self.include_gdpr_data, max_connections=self.max_connections)

    def claim(self, data: DataDir, client: ReportApiClient) -> None:
        data.claim(self.source, self.world(client))

    @contextmanager
    def client(self) -> Iterator[ReportApiClient]:
        if self.source == PRODUCTION or self.base_url:
            with ReportApiClient(self.settings(self.base_url or PRODUCTION_BASE_URL)) as client:
                yield client
            return
        with SimulatorProcess.start(self.simulator_args) as simulator, \
                ReportApiClient(self.settings(simulator.base_url)) as client:
            yield client


class DataDirResource(dg.ConfigurableResource):
    """Where the Parquet lake, the warehouse and the lake views live."""

    path: str = Field(description="The data directory (REPORT_ASSETS_DATA_DIR)")
    lake_url: str = Field(default="", description="An object store's URL for the Parquet lake, no credentials; "
                                                  "empty: <path>/lake")
    lake_retry_seconds: int = Field(default=180, description="How long a refused object store is retried")

    @classmethod
    def of(cls, settings: Settings) -> DataDirResource:
        return cls(path=str(settings.data_dir), lake_url=settings.lake_url,
                   lake_retry_seconds=settings.lake_retry_seconds)

    def data_dir(self) -> DataDir:
        return DataDir(Path(self.path), self.lake_url, self.lake_retry_seconds)


def report_api_from_env(project: Settings) -> ReportApiResource:
    """Production when credentials are set (read through EnvVar, so never stored in run config),
    the embedded simulator when none is, and a load error naming what is missing when some are."""
    settings = settings_from_env()  # raises ConfigurationError on partial credentials
    if settings is None:
        base_url = os.environ.get(ENV_BASE_URL)
        if base_url:
            host = urlsplit(base_url).hostname or ""
            if not is_loopback_host(host):
                raise ConfigurationError(
                    f"{ENV_BASE_URL} points at {base_url} but no credentials are set: set {ENV_CLIENT_ID}, "
                    f"{ENV_CLIENT_SECRET} and {ENV_SUBSCRIPTION_KEY} for production, or unset {ENV_BASE_URL} "
                    "to use the embedded simulator."
                )
        return ReportApiResource(source=SIMULATOR, base_url=base_url or None, include_gdpr_data=project.include_gdpr,
                                 max_connections=project.max_connections)
    return ReportApiResource(
        source=PRODUCTION,
        base_url=settings.base_url,
        client_id=dg.EnvVar(ENV_CLIENT_ID),
        client_secret=dg.EnvVar(ENV_CLIENT_SECRET),
        subscription_key=dg.EnvVar(ENV_SUBSCRIPTION_KEY) if settings.subscription_key else None,
        merchant_serial_number=dg.EnvVar(ENV_MSN) if settings.merchant_serial_number else None,
        token_flow=settings.flow,
        include_gdpr_data=project.include_gdpr,
        max_connections=project.max_connections,
    )
