"""Secrets never leak: everything a failing run lets a user see is searched for them."""

from __future__ import annotations

import logging
import traceback

import pytest

from report_assets.report_api import ReportApiClient, Secret
from report_assets.report_api.errors import ReportApiError
from report_assets.simulator.world import Credentials
from report_assets_tests.conftest import SimFactory, settings_for

CLIENT_SECRET = "cs-Zq8v1TOPSECRET-client"
SUBSCRIPTION_KEY = "sk-7Hw2TOPSECRET-subscription"


def shown_to_a_user(error: BaseException, *objects: object) -> str:
    return "\n".join([str(error), repr(error), *traceback.format_exception(error), *map(repr, objects)])


@pytest.mark.parametrize(
    "scenario", ["tokens-refused", "transient-failures-exhausted", "bad-page", "wrong-subscription-key"]
)
def test_no_secret_or_token_appears_in_anything_a_failing_run_shows(
    start_simulator: SimFactory, scenario: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    sim = start_simulator(credentials=Credentials("client-1", CLIENT_SECRET, SUBSCRIPTION_KEY), page_size=50)
    settings = settings_for(sim, client_id="client-1", client_secret=Secret(CLIENT_SECRET),
                            subscription_key=Secret(SUBSCRIPTION_KEY))
    client = ReportApiClient(settings)
    client.list_ledgers()  # a token is fetched and cached
    if scenario == "tokens-refused":
        sim.control(faults={"token_ttl_seconds": 0}, advance_seconds=2 * 86_400)
    elif scenario == "transient-failures-exhausted":
        sim.control(faults={"rate_500": 0.5, "rate_503": 0.5, "max_consecutive": 1000})
    elif scenario == "bad-page":
        sim.control(corruptions=[{"ledger_id": "302321", "topic": "funds", "ledger_date": "2026-11-20", "page": 2,
                                  "kind": "chain-broken"}])
    else:
        settings = settings_for(sim, client_id="client-1", client_secret=Secret(CLIENT_SECRET),
                                subscription_key=Secret(SUBSCRIPTION_KEY + "-wrong"))
        client = ReportApiClient(settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(ReportApiError) as raised:
        client.read_date("302321", "funds", "2026-11-20")
    client.close()
    tokens = list(sim.state.tokens)
    assert tokens, "the run fetched tokens, so there is something to leak"
    out, err = capfd.readouterr()
    captured = "\n".join([caplog.text, out, err, shown_to_a_user(raised.value, client, settings, client.tokens)])
    assert len(caplog.records) > 5  # the log really was captured, at DEBUG, from httpx and httpcore too
    for secret in [CLIENT_SECRET, SUBSCRIPTION_KEY, *tokens]:
        assert secret not in captured


def test_secrets_do_not_show_in_reprs_or_pickles() -> None:
    secret = Secret("hunter2-value")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(secret)
