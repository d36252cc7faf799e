"""``python -m report_assets.simulator``: the interface other tools rely on."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from report_assets.simulator.__main__ import parser
from report_assets_tests.conftest import free_port

pytestmark = pytest.mark.integration  # processes of their own: the main job, the export, the CLIs


def test_help_lists_every_option() -> None:
    wide = {**os.environ, "COLUMNS": "400"}  # so that no help line wraps inside a value
    result = subprocess.run([sys.executable, "-m", "report_assets.simulator", "--help"], capture_output=True,
                            text=True, check=True, env=wide)
    options = [o for action in parser()._actions for o in action.option_strings if action.help != "==SUPPRESS=="]
    assert len(options) > 20
    for option in options:
        assert option in result.stdout
    for default in ("simulator-client-id", "simulator-client-secret", "simulator-subscription-key", "2026"):
        assert f"(default: {default})" in result.stdout


def test_serves_on_the_given_port_with_the_credentials_given() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "report_assets.simulator", "--port", str(port), "--client-id", "me",
         "--client-secret", "pw", "--subscription-key", "key"], stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()  # printed once the port is listening
        assert f"http://127.0.0.1:{port}" in banner
        base = f"http://127.0.0.1:{port}"
        wrong = httpx.post(f"{base}/accesstoken/get", headers={
            "client_id": "simulator-client-id", "client_secret": "simulator-client-secret",
            "Ocp-Apim-Subscription-Key": "key"})
        assert wrong.status_code == 401
        right = httpx.post(f"{base}/miami/v1/token", auth=("me", "pw"), data={"grant_type": "client_credentials"})
        assert right.status_code == 200 and right.json()["expires_in"] == 898
        ledgers = httpx.get(f"{base}/settlement/v1/ledgers",
                            headers={"Authorization": f"Bearer {right.json()['access_token']}"})
        assert [item["ledgerId"] for item in ledgers.json()["items"]] == ["302321", "405512"]
    finally:
        process.terminate()
        process.wait(timeout=10)
