"""A redis-server of a test's own, on a free port, that the test may pause, resume or kill.

Tests that break Redis use this, never the shared server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import HOST, STOP_TIMEOUT, free_port
from tests.support.services import need

READY_TIMEOUT = 10.0


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.resume()
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)

    def flush(self) -> None:
        import redis

        redis.Redis(host=HOST, port=self.port, socket_timeout=2).flushdb()


def _wait_ready(server: RedisServer) -> None:
    import redis

    client = redis.Redis(host=HOST, port=server.port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {server.process.returncode}")
        with contextlib.suppress(redis.RedisError):
            if client.ping():
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer within {READY_TIMEOUT:g} s")


@contextlib.contextmanager
def own_redis_server(directory: Path) -> Iterator[RedisServer]:
    """A fresh, empty redis-server (no persistence); stopped by its PID when the context ends."""
    binary = shutil.which("redis-server")
    if binary is None:
        need("needs the redis-server binary to start a Redis of the test's own")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [*command, "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(process, port)
    try:
        _wait_ready(server)
        yield server
    finally:
        if process.poll() is None:
            server.resume()
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
