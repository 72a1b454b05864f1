"""Real server processes for tests: a scratch database, gunicorn or uvicorn, an HTTP client.

The servers run the demo project with ``tests/support/server_settings.py`` on 127.0.0.1 at a
free port, against a database of their own (a SQLite file, or a scratch PostgreSQL
database when ``DATABASE_URL`` names PostgreSQL) that the test reads through
``manage.py shell`` in the same environment.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

from tests.support.services import need

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SETTINGS = "tests.support.server_settings"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0
READY_PATH = "/api/v1/health/"


# --- the database -------------------------------------------------------------------------


def _is_postgres(url: str) -> bool:
    return bool(url) and "postgresql" in dj_database_url.parse(url)["ENGINE"]


def _admin_connection(url: str) -> Any:
    """An autocommit connection to the PostgreSQL server of ``url``, to create databases."""
    import psycopg

    config = dj_database_url.parse(url)
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "connect_timeout": 5,
        "autocommit": True,
    }
    failure: Exception | None = None
    for dbname in ("postgres", config["NAME"]):
        try:
            return psycopg.connect(dbname=dbname, **params)
        except psycopg.Error as exc:
            failure = exc
    need(f"needs PostgreSQL at {url} to create a scratch database ({failure})")


def _drop(admin: Any, name: str) -> None:
    import psycopg

    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.errors.SyntaxError:  # before PostgreSQL 13; the servers are stopped by now
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextlib.contextmanager
def _postgres_database(url: str) -> Iterator[str]:
    name = f"sessions_srv_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection(url)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlsplit(url)._replace(path=f"/{name}").geturl()
        finally:
            _drop(admin, name)
    finally:
        admin.close()


@contextlib.contextmanager
def scratch_database(directory: Path) -> Iterator[str]:
    """The URL of an empty database that lives as long as the context.

    The test process's own database cannot serve: pytest-django's SQLite test
    database is in memory, and its PostgreSQL one is written in transactions
    that other processes never see.
    """
    url = os.environ.get("DATABASE_URL", "")
    if _is_postgres(url):
        with _postgres_database(url) as scratch:
            yield scratch
    else:
        yield f"sqlite:///{directory / 'servers.sqlite3'}"


def server_environ(database_url: str, var_dir: Path) -> dict[str, str]:
    """The environment of the servers and of ``manage.py`` run against their database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(var_dir),
        "SERVER_TEST_CACHE_PREFIX": f"srv{uuid.uuid4().hex[:8]}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120.0) -> str:
    """``manage.py`` in ``env``; its output, or a failure that shows what it printed."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode:
        raise RuntimeError(
            f"manage.py {args[0]} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def run_django(env: dict[str, str], code: str) -> Any:
    """Run ``code`` in a Django shell on the servers' database; the JSON it prints last."""
    output = manage(env, "shell", "--no-imports", "-c", code)
    return json.loads(output.strip().splitlines()[-1])


# --- the servers --------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    """A server exited or never answered; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi:application",
            "--workers=2",
            "--worker-class=sync",
            f"--bind={HOST}:{port}",
            f"--chdir={ROOT}",
            "--log-level=warning",
            "--graceful-timeout=5",
            "--timeout=30",
            "--error-logfile=-",
        ]
    if kind == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "project.asgi:application",
            f"--host={HOST}",
            f"--port={port}",
            "--lifespan=off",  # Django speaks no lifespan protocol
            "--log-level=warning",
            "--timeout-graceful-shutdown=5",
        ]
    raise ValueError(f"unknown server {kind!r}")


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def client(self, **headers: str) -> Client:
        return Client(self.port, headers)


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", READY_PATH)
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerStartError(
                f"{server.kind} exited with {server.process.returncode} before answering:\n"
                + server.log_tail()
            )
        if _answers(server.port):
            return
        time.sleep(0.1)
    raise ServerStartError(
        f"{server.kind} did not answer within {READY_TIMEOUT:g} s:\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate and wait; kill the process group (workers too) if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # its own group: start_new_session below
    process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def running_server(kind: str, env: dict[str, str], log: Path) -> Iterator[Server]:
    """A ``kind`` server answering on 127.0.0.1; always stopped when the context ends."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            server_command(kind, port),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(kind, port, process, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(process)


# --- HTTP ---------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Event:
    name: str
    data: Any
    at: float  # time.monotonic() when it arrived


@dataclass
class Client:
    """A client of one server with fixed headers (auth); one connection per request."""

    port: int
    headers: dict[str, str] = field(default_factory=dict)

    def _open(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> http.client.HTTPConnection:
        """A connection on which the request has been sent."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=HTTP_TIMEOUT)
        all_headers = {"Accept": "application/json", **self.headers, **headers}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=all_headers)
        return conn

    def _send(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = self._open(method, path, body, headers)
        return conn, conn.getresponse()

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        conn, response = self._send(method, path, body, headers or {})
        try:
            content = response.read()
            names = {name.lower(): value for name, value in response.getheaders()}
            return Reply(response.status, names, content)
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: Any, **headers: str) -> Reply:
        return self.request("POST", path, body, headers)

    @contextlib.contextmanager
    def stream(self, path: str, body: Any) -> Iterator[EventStream]:
        """POST asking for ``text/event-stream``; the connection closes when the context ends."""
        conn, response = self._send("POST", path, body, {"Accept": "text/event-stream"})
        try:
            yield EventStream(response)
        finally:
            response.close()
            conn.close()

    def post_and_hang_up(self, path: str, body: Any) -> None:
        """POST asking for a stream, and close the connection before any answer arrives."""
        self._open("POST", path, body, {"Accept": "text/event-stream"}).close()


class EventStream:
    """The Server-Sent Events of a response, read as they arrive."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.response = response
        self.status = response.status
        self.content_type = response.getheader("Content-Type", "")

    def next_event(self) -> Event | None:
        """The next event; None when the stream ends."""
        name, data = "message", []
        while True:
            line = self.response.readline().decode()
            if not line:
                return None
            line = line.rstrip("\r\n")
            if not line and data:
                return Event(name, json.loads("\n".join(data)), time.monotonic())
            field_name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field_name == "event":
                name = value
            elif field_name == "data":
                data.append(value)

    def events(self) -> Iterator[Event]:
        while (event := self.next_event()) is not None:
            yield event
