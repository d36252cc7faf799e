"""The simulator as a process of its own (jobs, benchmarks), started without importing its server: a run that
starts none (keys for production, or a simulator's URL given) does not pay for uvicorn and the app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import httpx


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1: connections queue in its backlog before the server accepts them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, Nagle and delayed ACKs add 40 ms to every response.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    return sock


@dataclass
class SimulatorProcess:
    """``python -m report_assets.simulator`` as a child process, on its own core."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, args: Sequence[str] = (), port: int = 0) -> SimulatorProcess:
        sock = bind_loopback(port)
        port = sock.getsockname()[1]
        # The child inherits the listening socket, so the port is ours from this moment on.
        process = subprocess.Popen(
            [sys.executable, "-m", "report_assets.simulator", "--fd", str(sock.fileno()), *args],
            pass_fds=[sock.fileno()],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        sock.close()
        return cls(process, port)

    def control(self, **changes: object) -> dict[str, object]:
        response = httpx.post(f"{self.base_url}/_simulator/control", json=changes, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, object]:
        return httpx.get(f"{self.base_url}/_simulator/stats", timeout=30).json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
