"""The real dagster-webserver and dagster-daemon on this project's workspace, as `make ui` starts them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from report_assets.settings import PROJECT_ROOT
from report_assets_tests.conftest import free_port


def until(condition: Any, seconds: float, what: str) -> Any:
    """Polls ``condition`` (a server's state, over HTTP) until it holds; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=60)
    response.raise_for_status()
    return response.json()["data"]


@contextmanager
def dagster_services(env: dict[str, str], logs: Path) -> Iterator[str]:
    """Starts both with ``env``; yields the webserver's URL once it answers, and stops both after."""
    bin_dir = Path(sys.executable).parent
    port = free_port()
    outputs = [open(logs / name, "w") for name in ("webserver.log", "daemon.log")]  # noqa: SIM115
    processes = [
        subprocess.Popen([shutil.which("dagster-webserver", path=str(bin_dir)) or "dagster-webserver",
                          "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                         cwd=PROJECT_ROOT, env=env, stdout=outputs[0], stderr=subprocess.STDOUT),
        subprocess.Popen([shutil.which("dagster-daemon", path=str(bin_dir)) or "dagster-daemon", "run",
                          "-w", "workspace.yaml"], cwd=PROJECT_ROOT, env=env, stdout=outputs[1],
                         stderr=subprocess.STDOUT),
    ]
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        try:
            return httpx.get(f"{url}/server_info", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until(serving, 120, "the webserver")
        yield url
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for output in outputs:
            output.close()
