"""The real dagster-webserver and dagster-daemon on this project's workspace, as `make ui` starts them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
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


def reading(data: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only, once no run of the daemon's is writing it (the books sensor follows every ledger
    run with a books run of its own, which holds the writer's lock while it runs)."""

    def opened() -> duckdb.DuckDBPyConnection | None:
        try:
            return duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
        except duckdb.IOException:
            return None

    return until(opened, 120, "the warehouse, free of writers")


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=60)
    response.raise_for_status()
    return response.json()["data"]


class Services:
    """The running webserver and daemon; the daemon can be killed, with everything it started, and restarted."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.bin_dir = Path(sys.executable).parent
        self.url = f"http://127.0.0.1:{free_port()}"
        self.outputs: list[Any] = []
        self.sessions: list[int] = []  # every process group started, to stop what outlives its leader
        # The instance's storage made once, before the services: on a new DAGSTER_HOME the webserver, its code
        # server and the daemon would each create the schema at once, and one of them can fail ("alembic_version
        # has more than one head"), as a user's first `dagster dev` would not (it starts them in turn).
        subprocess.run([str(self.bin_dir / "dagster"), "instance", "migrate"], cwd=PROJECT_ROOT, env=env,
                       check=True, capture_output=True)
        self.webserver = self.start("webserver", ["dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1",
                                                  "-p", self.url.rsplit(":", 1)[1]])
        self.daemon = self.start("daemon", ["dagster-daemon", "run", "-w", "workspace.yaml"])

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        output = open(self.logs / f"{name}.log", "a")  # noqa: SIM115 (closed in stop)
        self.outputs.append(output)
        command = [shutil.which(command[0], path=str(self.bin_dir)) or command[0], *command[1:]]
        # A session of its own: killing it kills what it started (its code server, the runs it launched).
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.sessions.append(process.pid)
        return process

    def kill_daemon(self) -> None:
        """SIGKILL to the daemon process alone, as when its container dies: the runs it launched go on, as run
        pods do on Kubernetes."""
        self.daemon.kill()
        self.daemon.wait(timeout=30)

    def restart_daemon(self) -> None:
        self.daemon = self.start("daemon", ["dagster-daemon", "run", "-w", "workspace.yaml"])

    def stop(self) -> None:
        for signal_number in (signal.SIGTERM, signal.SIGKILL):
            for session in self.sessions:
                with suppress(ProcessLookupError):
                    os.killpg(session, signal_number)
            if signal_number == signal.SIGTERM:
                for process in (self.webserver, self.daemon):
                    with suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=30)
        for output in self.outputs:
            output.close()


@contextmanager
def running_services(env: dict[str, str], logs: Path) -> Iterator[Services]:
    """Starts both with ``env``; yields them once the webserver answers, and stops both after."""
    services = Services(env, logs)

    def serving() -> bool:
        try:
            return httpx.get(f"{services.url}/server_info", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until(serving, 120, "the webserver")
        yield services
    finally:
        services.stop()


@contextmanager
def dagster_services(env: dict[str, str], logs: Path) -> Iterator[str]:
    """Starts both with ``env``; yields the webserver's URL once it answers, and stops both after."""
    with running_services(env, logs) as services:
        yield services.url
