"""Every ``REPORT_ASSETS_*`` setting, read and validated in one place.

A bad value is a user's mistake, not a transient fault: it stops the load (code location, CLI, main
job) with one sentence naming the variable, the value and what is allowed, before anything is fetched
or written, and it is never retried. The Report API's own ``REPORT_API_*`` keys are read by
``report_api.settings``, which keeps their secrets masked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from report_assets.core.setting_names import (
    ENV_ACCOUNT_MAP,
    ENV_BANK_DIR,
    ENV_COMPANY_NAME,
    ENV_CONTACT,
    ENV_DATA_DIR,
    ENV_DATES_PER_RUN,
    ENV_FETCH_PROCESSES,
    ENV_FRESHNESS_DAYS,
    ENV_HISTORY_BATCH,
    ENV_IN_PROCESS_UP_TO,
    ENV_INCLUDE_GDPR,
    ENV_LAKE_RETRY_SECONDS,
    ENV_LAKE_URL,
    ENV_LEDGER_IDS,
    ENV_LEDGER_TIMEZONES,
    ENV_LOOKBACK,
    ENV_MAX_CONNECTIONS,
    ENV_START_DATE,
    ENV_STEP_RETRIES,
    ENV_TIMEZONE,
    ENV_UNPAID_AFTER,
    ENV_WAREHOUSE_BATCH,
)
from report_assets.lake.data_dir import DataDir
from report_assets.lake.store import OBJECT_STORE_SCHEMES
from report_assets.transforms.accounts import DEFAULT_MAP, AccountMap, AccountMapError, load_account_map
from report_assets.transforms.summaries import Rules

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# What each setting means, for the README and for error messages: name -> (default, allowed values).
DOCUMENTED: dict[str, tuple[str, str]] = {
    ENV_DATA_DIR: ("./data", "a directory: the Parquet lake, the DuckDB warehouse and the ledger-day status"),
    ENV_START_DATE: ("2024-01-01", "the first ledger date partition, YYYY-MM-DD, not in the future"),
    ENV_TIMEZONE: ("Europe/Oslo", "the IANA time zone in which the date partitions run"),
    ENV_LEDGER_IDS: ("(all the keys can read)", "a comma-separated list of ledger IDs to track, e.g. 302321,405512"),
    ENV_LEDGER_TIMEZONES: ("(inferred)", "ledger=zone pairs, e.g. 517734=Europe/Helsinki,405512=Europe/Copenhagen"),
    ENV_INCLUDE_GDPR: ("false", "true or false: fetch names, phone numbers and messages (personal data)"),
    ENV_MAX_CONNECTIONS: ("8", "a whole number from 1 to 64: concurrent ledger-day reads"),
    ENV_WAREHOUSE_BATCH: ("2000", "a whole number from 1 to 1000000: ledger-days per warehouse transaction"),
    ENV_IN_PROCESS_UP_TO: ("100", "a whole number from 0 to 1000000: ledger-days a run fetches in its own process; "
                           "a larger run fetches and stores in a child process while it reports to Dagster"),
    ENV_FETCH_PROCESSES: ("(cores - 1, at most 3)", "a whole number from 0 to 16: processes fetching beside a larger "
                          "run's child, sharing its connections; 0 fetches in the child alone"),
    ENV_STEP_RETRIES: ("2", "a whole number from 0 to 10: retries of a step after transient trouble"),
    ENV_LOOKBACK: ("7", "a whole number from 0 to 366: ledger dates the hourly schedule looks back"),
    ENV_FRESHNESS_DAYS: ("5", "a whole number from 1 to 366: days without a closed date before a warning"),
    ENV_HISTORY_BATCH: ("500", "a whole number from 1 to 100000: new ledgers per history run"),
    ENV_ACCOUNT_MAP: ("report_assets/transforms/account_map.toml", "a readable TOML account map (README, 'Booking')"),
    ENV_BANK_DIR: ("<data dir>/bank", "a directory of the payout accounts' camt.053 bank statements (README, "
                   "'Bank reconciliation')"),
    ENV_DATES_PER_RUN: ("0", "a whole number from 0 to 100000: ledger dates per run of a backfill; 0 runs a backfill "
                        "as one run, N as runs of N dates each that the run queue and the warehouse pool pace"),
    ENV_LAKE_URL: ("<data dir>/lake", "s3://bucket/prefix (gs:// and az:// too), without credentials in it: the "
                   "Parquet lake in an object store, with the store's AWS_* (or Google, Azure) variables and, for an "
                   "S3-compatible store, AWS_ENDPOINT_URL"),
    ENV_LAKE_RETRY_SECONDS: ("180", "a whole number from 1 to 3600: seconds a run keeps retrying an object store that "
                             "refuses a read or write before it fails, naming the file"),
    ENV_COMPANY_NAME: ("(the organisation number)", "the ledgers' owner's name, for the SAF-T file's header"),
    ENV_CONTACT: ("(not given)", "first and last name of the SAF-T file's contact person, e.g. 'Kari Nordmann'"),
    ENV_UNPAID_AFTER: ("4", "a whole number from 1 to 60: bank days after its ledger date before a payout not "
                       "on the bank statement is warned about"),
}


class SettingError(ValueError):
    """A setting with a value that cannot be used: the message names the variable and what is allowed."""

    def __init__(self, name: str, value: str, allowed: str, problem: str | None = None) -> None:
        super().__init__(f"{name}={value!r}: {problem}" if problem else
                         f"{name}={value!r} is not valid: expected {allowed}.")
        self.name = name


T = TypeVar("T")


def parsed(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except SettingError:
        raise
    except (ValueError, ZoneInfoNotFoundError, OSError):
        raise SettingError(name, raw, DOCUMENTED[name][1]) from None


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value
    return parse


def zone(raw: str) -> str:
    if not raw or ("/" not in raw and raw != "UTC"):
        raise ValueError(raw)
    ZoneInfo(raw)
    return raw


def past_date(raw: str) -> str:
    if date.fromisoformat(raw) > date.today() or len(raw) != 10:
        raise ValueError(raw)
    return raw


def readable_file(raw: str) -> Path:
    path = Path(raw).expanduser().resolve()
    path.read_bytes()  # OSError when missing or unreadable
    return path


def account_map(env: Mapping[str, str]) -> AccountMap:
    path = parsed(env, ENV_ACCOUNT_MAP, readable_file, DEFAULT_MAP)
    try:
        return load_account_map(path)
    except AccountMapError as exc:
        raise SettingError(ENV_ACCOUNT_MAP, str(path), DOCUMENTED[ENV_ACCOUNT_MAP][1], problem=str(exc)) from None


def object_store_url(raw: str) -> str:
    parts = urlsplit(raw)
    if "@" in parts.netloc:  # never echo what is before the @: it may be a key
        raise SettingError(ENV_LAKE_URL, f"{parts.scheme}://…@{parts.netloc.rpartition('@')[2]}{parts.path}", "",
                           problem="credentials do not belong in the URL (it shows in run config and logs); set "
                                   "them in the store's own variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).")
    if parts.scheme not in OBJECT_STORE_SCHEMES or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(raw)
    return raw.rstrip("/")


def boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(raw)
    return lowered in ("true", "1", "yes")


def ledger_ids(raw: str) -> frozenset[str]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if not ids or not all(i.isdigit() for i in ids):
        raise ValueError(raw)
    return frozenset(ids)


def ledger_timezones(raw: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in raw.split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(raw)
    return {ledger_id.strip(): zone(name.strip()) for ledger_id, name in pairs}


def person_name(raw: str) -> tuple[str, str]:
    parts = raw.split()
    if len(parts) < 2:
        raise ValueError(raw)
    return " ".join(parts[:-1]), parts[-1]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    start_date: str
    timezone: str
    ledger_ids: frozenset[str] | None  # None: every ledger the keys can read
    ledger_timezones: dict[str, str]
    include_gdpr: bool
    max_connections: int
    warehouse_batch: int
    in_process_up_to: int  # ledger-days; a larger run fetches in a child process
    fetch_processes: int  # processes fetching beside that child
    step_retries: int
    lookback_days: int
    freshness_days: int
    history_batch: int
    account_map: AccountMap
    bank_dir: Path
    unpaid_after_days: int
    backfill_dates_per_run: int
    lake_url: str  # empty: the lake is <data dir>/lake
    lake_retry_seconds: int
    company_name: str | None
    contact_person: tuple[str, str] | None  # (first name, last name)


def said_first(load: Callable[[], T]) -> T:
    """Runs a load-time check (code location, CLI): a user's mistake is printed as its one sentence before
    the loader's own traceback, which then ends with it again."""
    from report_assets.report_api.errors import ConfigurationError

    try:
        return load()
    except (SettingError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise


def rules_of(settings: Settings) -> Rules:
    """What the summaries and checks take from the settings."""
    return Rules(settings.account_map, settings.freshness_days)


def data_dir_of(settings: Settings) -> DataDir:
    """The data directory the settings name, with its lake where they put it."""
    return DataDir(settings.data_dir, settings.lake_url, settings.lake_retry_seconds)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings in force, from the environment; raises ``SettingError`` on the first bad value."""
    env = os.environ if env is None else env
    data_dir = env.get(ENV_DATA_DIR, "").strip()
    data_path = Path(data_dir).resolve() if data_dir else PROJECT_ROOT / "data"
    bank_dir = env.get(ENV_BANK_DIR, "").strip()
    return Settings(
        data_dir=data_path,
        start_date=parsed(env, ENV_START_DATE, past_date, "2024-01-01"),
        timezone=parsed(env, ENV_TIMEZONE, zone, "Europe/Oslo"),
        ledger_ids=parsed(env, ENV_LEDGER_IDS, ledger_ids, None),
        ledger_timezones=parsed(env, ENV_LEDGER_TIMEZONES, ledger_timezones, {}),
        include_gdpr=parsed(env, ENV_INCLUDE_GDPR, boolean, False),
        max_connections=parsed(env, ENV_MAX_CONNECTIONS, whole_number(1, 64), 8),
        warehouse_batch=parsed(env, ENV_WAREHOUSE_BATCH, whole_number(1, 1_000_000), 2000),
        in_process_up_to=parsed(env, ENV_IN_PROCESS_UP_TO, whole_number(0, 1_000_000), 100),
        fetch_processes=parsed(env, ENV_FETCH_PROCESSES, whole_number(0, 16), min(3, (os.cpu_count() or 1) - 1)),
        step_retries=parsed(env, ENV_STEP_RETRIES, whole_number(0, 10), 2),
        lookback_days=parsed(env, ENV_LOOKBACK, whole_number(0, 366), 7),
        freshness_days=parsed(env, ENV_FRESHNESS_DAYS, whole_number(1, 366), 5),
        history_batch=parsed(env, ENV_HISTORY_BATCH, whole_number(1, 100_000), 500),
        account_map=account_map(env),
        bank_dir=Path(bank_dir).expanduser().resolve() if bank_dir else data_path / "bank",
        unpaid_after_days=parsed(env, ENV_UNPAID_AFTER, whole_number(1, 60), 4),
        backfill_dates_per_run=parsed(env, ENV_DATES_PER_RUN, whole_number(0, 100_000), 0),
        lake_url=parsed(env, ENV_LAKE_URL, object_store_url, ""),
        lake_retry_seconds=parsed(env, ENV_LAKE_RETRY_SECONDS, whole_number(1, 3600), 180),
        company_name=env.get(ENV_COMPANY_NAME, "").strip() or None,
        contact_person=parsed(env, ENV_CONTACT, person_name, None),
    )
