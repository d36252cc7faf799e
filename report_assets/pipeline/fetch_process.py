"""Fetch threads in a process of their own, beside the child that stores (``ingest_process``).

A request costs the client about a millisecond of Python (HTTP, JSON, validation) under its process's
interpreter lock, which the child's loop and writer share. With a partner's thousands of small
ledger-days that lock, not the cores or the API, set the pace: the child ran at one core while the
machine had more. A fetch process brings an interpreter of its own; what it fetched comes back pickled
(Arrow batches as their buffers), which costs the child far less than fetching would. It writes
nothing, so it may die or be killed at any moment: its unfinished ledger-days are reported failed, the
run goes on with the fetchers it has left, and the next run fetches them again.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

from report_assets.pipeline.fetching import Done, FetchJob, FetchSpec, fetch_day
from report_assets.pipeline.spawned import die_with, sendable, settings_from_recipe
from report_assets.report_api import ReportApiClient
from report_assets.report_api.auth import Token

READY = "ready"  # the first message: the process is up and takes jobs
POLL_SECONDS = 2.0  # how often the receiver looks whether the process is still alive while waiting


class FetchProcessDiedError(RuntimeError):
    """The fetch process exited with this ledger-day unfinished: nothing of it was stored."""


def serve(recipe: dict[str, Any], token: Token, spec: FetchSpec, threads: int, jobs: Connection,
          results: Connection, parent: int) -> None:
    """The fetch process: fetches each job it is sent on ``threads`` threads, with its spawner's token, and sends
    back its day or its error, until its spawner closes its end of the jobs or goes."""
    die_with(parent)
    lock = threading.Lock()

    def send(message: object) -> None:
        payload = ForkingPickler.dumps(message)  # outside the lock: the threads pickle at once
        with lock:
            results.send_bytes(payload)

    with ReportApiClient(settings_from_recipe(recipe)) as client, \
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch") as pool:
        client.tokens.adopt(token)

        def fetch(job: FetchJob) -> None:
            try:
                outcome: object = fetch_day(client, job, spec)
            except BaseException as exc:
                outcome = sendable(exc)
            send((job, outcome))

        send(READY)
        while (job := receive_job(jobs)) is not None:
            pool.submit(fetch, job)


def receive_job(jobs: Connection) -> FetchJob | None:
    try:
        return jobs.recv()
    except EOFError:  # the spawner closed its end
        return None


class ProcessPool:
    """A fetch process and the thread of this one that receives what it fetched."""

    def __init__(self, context: Any, recipe: dict[str, Any], token: Token, spec: FetchSpec, threads: int) -> None:
        self.threads = threads
        self.started = threading.Event()  # it has said it takes jobs
        self.jobs_done = 0
        self._died: str | None = None
        self._waiting: dict[FetchJob, Done] = {}
        self._lock = threading.Lock()
        jobs_end, self._jobs = context.Pipe(duplex=False)
        self._results, results_end = context.Pipe(duplex=False)
        self.process = context.Process(target=serve, name="report-assets-fetch", daemon=True,
                                       args=(recipe, token, spec, threads, jobs_end, results_end, os.getpid()))
        self.process.start()
        jobs_end.close()
        results_end.close()
        threading.Thread(target=self._receive, name="fetch-process-receiver", daemon=True).start()

    @property
    def ready(self) -> bool:
        return self.started.is_set() and self._died is None

    def submit(self, job: FetchJob, done: Done) -> None:
        with self._lock:
            if self._died is None:
                self._waiting[job] = done
                with contextlib.suppress(OSError):
                    self._jobs.send(job)
                    return
                del self._waiting[job]
        done(job, self._died_error())

    def _receive(self) -> None:
        while True:
            try:
                if not self._results.poll(POLL_SECONDS):
                    if not wait([self.process.sentinel], timeout=0):  # alive (looked at without reaping it)
                        continue
                    raise EOFError
                message = ForkingPickler.loads(self._results.recv_bytes())
            except (EOFError, OSError):
                self._exited()
                return
            if message == READY:
                self.started.set()
                continue
            job, outcome = message
            with self._lock:
                done = self._waiting.pop(job)
                self.jobs_done += 1
            done(job, outcome)

    def _exited(self) -> None:
        """Its unfinished jobs fail; it takes no more."""
        wait([self.process.sentinel], timeout=POLL_SECONDS)
        with self._lock:  # only ever reaped under the lock: two threads reaping at once lose its exit code
            self._died = f"code {self.process.exitcode}"
            waiting, self._waiting = self._waiting, {}
        for job, done in waiting.items():
            done(job, self._died_error())

    def _died_error(self) -> FetchProcessDiedError:
        return FetchProcessDiedError(
            f"the fetch process exited ({self._died}) before this ledger-day was fetched; nothing of it was "
            "stored: re-run the date to fetch it")

    def close(self) -> None:
        """Stops the process at once, whatever it is doing: it writes nothing. Letting an idle one exit by itself
        (its pool, its client, its interpreter's teardown) kept the end of every large run waiting 50 ms more."""
        with self._lock:
            self._jobs.close()
        self.process.kill()
        with self._lock:
            self.process.join()
