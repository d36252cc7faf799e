"""Every kind of simulator response validates against the provider's OpenAPI spec (openapi-core).

The spec is from December 2023; NOTES.md lists where production has moved on since. Each such
difference that a validator can see is applied to the spec below as a named patch, so validation stays
on for everything else. Differences the validator cannot see, so with no patch: extra query parameters
(includeGDPRSensitiveData) are not checked, a 404 has no documented body to check, and the simulator's
balances stay inside int32 at these volumes although NOTES.md asks for 64-bit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from report_assets_tests.conftest import Sim

SPEC_PATH = Path(__file__).parent / "spec" / "openapi-2023.yaml"
DATES = "/report/v2/ledgers/{ledgerId}/{topic}/dates/{ledgerDate}"
FEED = "/report/v2/ledgers/{ledgerId}/{topic}/feed"
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def entry_types_since_2023(spec: dict[str, Any]) -> None:
    """NOTES.md: payout-scheduled (was scheduled-for-payout), credit-note and service-fee exist today."""
    spec["components"]["schemas"]["Transaction"]["properties"]["entryType"]["enum"] += [
        "payout-scheduled", "payout", "credit-note", "service-fee"]


def recipient_handle_can_be_null(spec: dict[str, Any]) -> None:
    """NOTES.md: recipientHandle is null on payout and fee-retention entries."""
    spec["components"]["schemas"]["Transaction"]["properties"]["recipientHandle"]["nullable"] = True


def token_endpoints_from_notes(spec: dict[str, Any]) -> None:
    """NOTES.md: the two token endpoints live in another API; their responses as NOTES.md gives them."""
    numeric_text = {"type": "string", "pattern": "^[0-9]+$"}
    unauthorized = {"401": {"description": "Unauthorized", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                         "statusCode": {"type": "integer"}}, "required": ["message"]}}}}}
    spec["paths"]["/accesstoken/get"] = {"post": {"responses": {"200": {"description": "OK", "content": {
        "application/json": {"schema": {"type": "object", "required": [
            "token_type", "expires_in", "ext_expires_in", "expires_on", "not_before", "resource", "access_token"],
            "properties": {"token_type": {"type": "string"}, "expires_in": numeric_text,
                           "ext_expires_in": numeric_text, "expires_on": numeric_text,
                           "not_before": numeric_text, "resource": {"type": "string"},
                           "access_token": {"type": "string"}}}}}}, **unauthorized}}}
    spec["paths"]["/miami/v1/token"] = {"post": {"responses": {"200": {"description": "OK", "content": {
        "application/json": {"schema": {"type": "object", "required": ["access_token", "token_type", "expires_in"],
                                        "properties": {"access_token": {"type": "string"},
                                                       "token_type": {"type": "string"},
                                                       "expires_in": {"type": "integer"}}}}}},
        "400": {"description": "Bad request", "content": PROBLEM}, **unauthorized}}}


DOCUMENTED_DIFFERENCES: dict[str, Callable[[dict[str, Any]], None]] = {
    "entry-types-since-2023": entry_types_since_2023,
    "recipient-handle-can-be-null": recipient_handle_can_be_null,
    "token-endpoints-from-notes": token_endpoints_from_notes,
}


def string_keys(node: Any) -> Any:
    """YAML reads ``200:`` as an integer key; OpenAPI means the string."""
    if isinstance(node, dict):
        return {str(key): string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [string_keys(item) for item in node]
    return node


def spec_with(differences: list[str]) -> OpenAPI:
    spec = string_keys(yaml.safe_load(SPEC_PATH.read_text()))
    for name in differences:
        DOCUMENTED_DIFFERENCES[name](spec)
    # application/problem+json is JSON: let the validator read it as such rather than as opaque bytes.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(spec, config=config)


@pytest.fixture(scope="module")
def current_spec() -> OpenAPI:
    return spec_with(list(DOCUMENTED_DIFFERENCES))


def exchange(sim: Sim, method: str, path: str, pattern: str, view_args: dict[str, str] | None = None,
             params: dict[str, str] | None = None, **kwargs: Any) -> tuple[MockRequest, MockResponse]:
    response = httpx.request(method, f"{sim.base_url}{path}", params=params, **kwargs)
    content_type = response.headers["content-type"].split(";")[0]
    return (
        MockRequest("https://api.vipps.no", method, path, path_pattern=pattern, args=params, view_args=view_args,
                    headers=dict(response.request.headers)),
        MockResponse(response.content, status_code=response.status_code, content_type=content_type),
    )


def token(sim: Sim) -> dict[str, str]:
    key = "simulator-subscription-key"
    body = httpx.post(f"{sim.base_url}/accesstoken/get", headers={
        "client_id": "simulator-client-id", "client_secret": "simulator-client-secret",
        "Ocp-Apim-Subscription-Key": key}).json()
    return {"Authorization": f"Bearer {body['access_token']}", "Ocp-Apim-Subscription-Key": key}


def report_exchanges(sim: Sim) -> dict[str, tuple[MockRequest, MockResponse]]:
    """One example of each kind of response the simulator gives."""
    auth = token(sim)
    dates_path = "/report/v2/ledgers/405512/funds/dates/2026-11-20"
    dates_args = {"ledgerId": "405512", "topic": "funds", "ledgerDate": "2026-11-20"}
    cursor = httpx.get(f"{sim.base_url}{dates_path}", headers=auth).json()["cursor"]
    while (page := httpx.get(f"{sim.base_url}{dates_path}", headers=auth, params={"cursor": cursor}).json())["hasMore"]:
        cursor = page["cursor"]
    ledgers_first = httpx.get(f"{sim.base_url}/settlement/v1/ledgers", headers=auth).json()
    found = {
        "token-standard": exchange(sim, "POST", "/accesstoken/get", "/accesstoken/get", headers={
            "client_id": "simulator-client-id", "client_secret": "simulator-client-secret",
            "Ocp-Apim-Subscription-Key": "simulator-subscription-key"}),
        "token-standard-bad-key": exchange(sim, "POST", "/accesstoken/get", "/accesstoken/get", headers={
            "client_id": "x", "client_secret": "y", "Ocp-Apim-Subscription-Key": "wrong"}),
        "token-partner": exchange(sim, "POST", "/miami/v1/token", "/miami/v1/token",
                                  auth=("simulator-client-id", "simulator-client-secret"),
                                  data={"grant_type": "client_credentials"}),
        "token-partner-bad-secret": exchange(sim, "POST", "/miami/v1/token", "/miami/v1/token",
                                             auth=("simulator-client-id", "nope"),
                                             data={"grant_type": "client_credentials"}),
        "token-partner-with-subscription-key": exchange(
            sim, "POST", "/miami/v1/token", "/miami/v1/token", auth=("simulator-client-id", "simulator-client-secret"),
            headers={"Ocp-Apim-Subscription-Key": "k"}, data={"grant_type": "client_credentials"}),
        "ledgers-first-page": exchange(sim, "GET", "/settlement/v1/ledgers", "/settlement/v1/ledgers", headers=auth),
        "ledgers-last-page": exchange(sim, "GET", "/settlement/v1/ledgers", "/settlement/v1/ledgers",
                                      params={"cursor": ledgers_first["cursor"]}, headers=auth),
        "dates-page-with-more": exchange(sim, "GET", dates_path, DATES, dates_args, headers=auth),
        "dates-last-page-gdpr": exchange(sim, "GET", dates_path, DATES, dates_args, headers=auth, params={
            "cursor": cursor, "includeGDPRSensitiveData": "true"}),
        "dates-open-today": exchange(sim, "GET", "/report/v2/ledgers/302321/fees/dates/2026-11-25", DATES,
                                     {"ledgerId": "302321", "topic": "fees", "ledgerDate": "2026-11-25"},
                                     headers=auth),
        "feed": exchange(sim, "GET", "/report/v2/ledgers/517734/funds/feed", FEED,
                         {"ledgerId": "517734", "topic": "funds"}, headers=auth),
        "unauthorized": exchange(sim, "GET", dates_path, DATES, dates_args,
                                 headers={"Authorization": "Bearer expired"}),
        "no-such-ledger": exchange(sim, "GET", "/report/v2/ledgers/999/funds/dates/2026-11-20", DATES,
                                   {"ledgerId": "999", "topic": "funds", "ledgerDate": "2026-11-20"}, headers=auth),
        "input-validation-10002": exchange(sim, "GET", "/report/v2/ledgers/302321/funds/dates/2026-13-45", DATES,
                                           {"ledgerId": "302321", "topic": "funds", "ledgerDate": "2026-13-45"},
                                           headers=auth),
    }
    for kind in ("429", "500", "503"):
        sim.control(faults={f"rate_{kind}": 1.0, "max_consecutive": 100})
        found[f"fault-{kind}"] = exchange(sim, "GET", dates_path, DATES, dates_args, headers=auth)
    sim.control(faults={})
    return found


def test_every_kind_of_response_conforms_to_the_spec_with_the_documented_differences(
    start_simulator, current_spec: OpenAPI
) -> None:
    sim = start_simulator(page_size=100)
    exchanges = report_exchanges(sim)
    statuses = {name: response.status_code for name, (_, response) in exchanges.items()}
    assert statuses["dates-page-with-more"] == 200 and statuses["no-such-ledger"] == 404
    assert {statuses[f"fault-{k}"] for k in ("429", "500", "503")} == {429, 500, 503}
    for name, (request, response) in exchanges.items():
        try:
            current_spec.validate_request(request)
            current_spec.validate_response(request, response)
        except Exception as exc:
            pytest.fail(f"{name}: {exc!r} {getattr(exc, '__cause__', None)!r}")


@pytest.mark.parametrize("difference", sorted(DOCUMENTED_DIFFERENCES))
def test_each_documented_difference_is_needed(start_simulator, difference: str) -> None:
    """Without any one patch some simulator response fails: none of them switches validation off."""
    sim = start_simulator(page_size=100)
    others = spec_with([name for name in DOCUMENTED_DIFFERENCES if name != difference])
    failures = []
    for name, (request, response) in report_exchanges(sim).items():
        try:
            others.validate_request(request)
            others.validate_response(request, response)
        except Exception:
            failures.append(name)
    assert failures, f"the {difference} patch changes nothing the simulator sends"
