"""The simulator in a thread of this process (tests); as a process of its own, see ``process``."""

from __future__ import annotations

import asyncio
import threading

import uvicorn

from report_assets.simulator.app import SimulatorState, build_app
from report_assets.simulator.process import bind_loopback


class ThreadedSimulator:
    """The simulator's ASGI app under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, state: SimulatorState, port: int = 0) -> None:
        self.state = state
        self._socket = bind_loopback(port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(build_app(state), log_level="warning", access_log=False, lifespan="off",
                                timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"simulator-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def start(self) -> ThreadedSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ThreadedSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
