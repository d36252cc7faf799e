"""Production mode from every entry point: with keys in the environment, the project talks to its base URL as to
production. Here that is a production-like simulator (no /_simulator/ paths, no bank) that accepts only these
keys; each entry point runs as a user starts it, in a process of its own, and the stand-in's request log shows
that none of them asked for anything production does not serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest

from report_assets.settings import PROJECT_ROOT
from report_assets.simulator.bank import camt053
from report_assets.simulator.world import Credentials, World, default_ledgers
from report_assets_tests.conftest import FROZEN_NOW, Sim, SimFactory

pytestmark = pytest.mark.integration  # processes of their own: the main job, the export, the CLIs

MERCHANT = Credentials("merchant-client-id", "merchant-secret-Zq81", "merchant-subscription-Kx42")
LEDGERS = ["302321", "405512", "517734"]


def production_env(sim: Sim, tmp_path: Path, credentials: Credentials = MERCHANT, flow: str = "standard",
                   data: str = "data") -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORT_API_", "REPORT_ASSETS_"))}
    env |= {"DAGSTER_HOME": str(home), "REPORT_ASSETS_DATA_DIR": str(tmp_path / data),
            "REPORT_ASSETS_START_DATE": "2026-10-01", "REPORT_ASSETS_STEP_RETRIES": "0",
            "REPORT_API_BASE_URL": sim.base_url, "REPORT_API_TOKEN_FLOW": flow,
            "REPORT_API_CLIENT_ID": credentials.client_id, "REPORT_API_CLIENT_SECRET": credentials.client_secret}
    if flow == "standard":
        env["REPORT_API_SUBSCRIPTION_KEY"] = credentials.subscription_key
    return env


def run(env: dict[str, str], *command: str) -> str:
    """An entry point as a user starts it; fails the test with its output unless it exits 0."""
    done = subprocess.run([sys.executable, "-m", *command], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def dagster(env: dict[str, str], *args: str) -> str:
    return run(env, "dagster", "asset", "materialize", "-m", "report_assets.definitions", *args)


def ledger_days(data: Path, first: str, last: str) -> int:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute("SELECT count(DISTINCT (ledger_id, ledger_date)) FROM funds_ledger WHERE "
                                  "ledger_date BETWEEN ? AND ?", [first, last]).fetchone()[0]


def simulator_paths(sim: Sim) -> list[str]:
    return [request for request in sim.requests() if "/_simulator/" in request.lower()]


def test_every_entry_point_runs_with_a_merchants_keys_and_asks_only_what_production_serves(
        start_simulator: SimFactory, tmp_path: Path) -> None:
    sim = start_simulator(World(ledgers=default_ledgers(3, 40)), credentials=MERCHANT, production_like=True)
    env = production_env(sim, tmp_path)
    data = tmp_path / "data"
    outputs = [run(env, "report_assets.main_job", "--from", "2026-11-16", "--to", "2026-11-22")]
    assert "from the production" in outputs[0] and "put your bank's camt.053 statements" in outputs[0]
    assert ledger_days(data, "2026-11-16", "2026-11-22") == 7 * len(LEDGERS)
    # The claim is the keys' fingerprint: a hash, never the client ID.
    assert (data / ".source").read_text().strip() == "production"
    world = json.loads((data / ".world.json").read_text())
    assert set(world) == {"keys"} and MERCHANT.client_id not in json.dumps(world)
    # Nobody delivered bank statements: in production the user brings them.
    assert not (data / "bank").exists() or not any((data / "bank").iterdir())

    # A month of the three ledgers from Dagster's own CLI, as one run.
    outputs.append(dagster(env, "--select", "*", "--partition-range", "2026-10-01...2026-10-31"))
    assert ledger_days(data, "2026-10-01", "2026-10-31") == 31 * len(LEDGERS)

    # The user drops October's bank statements in the bank folder; the books read them.
    (data / "bank").mkdir(exist_ok=True)
    for ledger_id in LEDGERS:
        statement = camt053(sim.state.generators[ledger_id], 2026, 10, date(2026, 10, 31), FROZEN_NOW)
        (data / "bank" / f"bank-{ledger_id}-2026-10.xml").write_bytes(statement)
    outputs.append(dagster(env, "--select", "bank_matches,bank_journal_lines,monthly_statement"))
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
        matched = dict(connection.execute("SELECT ledger_id, count(*) FROM bank_matches WHERE status = 'matched' "
                                          "GROUP BY ALL").fetchall())
    assert set(matched) == set(LEDGERS), matched

    outputs.append(run(env, "report_assets.export", "--month", "2026-10"))
    assert sorted(p.name for p in (data / "exports" / "2026-10").glob("journal-*.csv")) == \
        [f"journal-{ledger_id}-2026-10.csv" for ledger_id in LEDGERS]
    outputs.append(run(env, "report_assets.load_warehouse"))

    requests = sim.requests()
    assert "POST /accesstoken/get" in requests  # the merchant's token flow, with the keys from the environment
    assert any(r.startswith("GET /report/v2/ledgers/") for r in requests)
    assert simulator_paths(sim) == []
    # Secrets stay out of what the commands print and of what Dagster and the data directory store.
    for secret in (MERCHANT.client_secret, MERCHANT.subscription_key):
        assert not [o for o in outputs if secret in o]
        stored = [p for root in (tmp_path / "home", data) for p in root.rglob("*")
                  if p.is_file() and secret.encode() in p.read_bytes()]
        assert stored == []


def test_a_partners_keys_run_the_main_job_and_claim_their_own_directory(start_simulator: SimFactory,
                                                                        tmp_path: Path) -> None:
    partner = Credentials("partner-client-id", "partner-secret-Pw07", "")
    sim = start_simulator(World(ledgers=default_ledgers(3, 40)), credentials=partner, production_like=True)
    env = production_env(sim, tmp_path, credentials=partner, flow="partner")
    run(env, "report_assets.main_job", "--from", "2026-11-20", "--to", "2026-11-21")
    assert ledger_days(tmp_path / "data", "2026-11-20", "2026-11-21") == 2 * len(LEDGERS)
    assert "POST /miami/v1/token" in sim.requests() and simulator_paths(sim) == []
    # Another set of keys is another world: the merchant's keys are refused in the partner's directory.
    merchant_env = production_env(sim, tmp_path, credentials=MERCHANT) | {"REPORT_API_TOKEN_FLOW": "standard"}
    refused = subprocess.run([sys.executable, "-m", "report_assets.main_job", "--days", "1"], env=merchant_env,
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "another world" in refused.stderr, refused.stderr


def test_the_production_like_simulator_serves_no_simulator_paths_and_matches_paths_as_the_gateway_does(
        start_simulator: SimFactory) -> None:
    sim = start_simulator(production_like=True)
    assert httpx.get(f"{sim.base_url}/_simulator/stats").status_code == 404
    assert httpx.get(f"{sim.base_url}/_simulator/bank/302321/camt053/2026-10").status_code == 404
    headers = {"client_id": "simulator-client-id", "client_secret": "simulator-client-secret",
               "Ocp-Apim-Subscription-Key": "simulator-subscription-key"}
    # The provider's Postman collection calls /accessToken/get: the gateway matches paths case-insensitively.
    token = httpx.post(f"{sim.base_url}/accessToken/get", headers=headers)
    assert token.status_code == 200 and token.json()["access_token"]
    assert sim.requests()[-1] == "POST /accessToken/get"
