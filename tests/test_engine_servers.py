"""A logout made while Redis is unreachable stays a logout in every worker process.

gunicorn with two workers, on the servers' scratch database (PostgreSQL under
``DATABASE_URL``) and a redis-server of the test's own: sign in, let the session
be cached, pause Redis (SIGSTOP), sign out, resume it, and send 30 requests at
once with the old key. The observable is ``/http/who/``: the user the session
signs in. No answer may name the user who signed out.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer, own_redis_server
from tests.support.servers import (
    Server,
    ServerStartError,
    manage,
    run_django,
    running_server,
    scratch_database,
    server_environ,
)
from tests.support.services import need

HEADER = "x-session-id"
PARALLEL = 30

CREATE_ALICE = """
import json
from django.contrib.auth import get_user_model
get_user_model().objects.create_user(username="alice", password=None)
print(json.dumps(True))
"""

SESSIONS_OF_ALICE = """
import json
from sessions_app.models import Session
print(json.dumps(Session.objects.filter(user__username="alice").count()))
"""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with own_redis_server(tmp_path) as server:
        yield server


@pytest.fixture
def server_env(tmp_path: Path, redis_server: RedisServer) -> Iterator[dict[str, str]]:
    with scratch_database(tmp_path) as database_url:
        env = server_environ(database_url, tmp_path)
        env["DJANGO_SETTINGS_MODULE"] = "tests.support.engine_server_settings"
        env["REDIS_URL"] = redis_server.url
        manage(env, "migrate", "--noinput", "-v", "0")
        run_django(env, CREATE_ALICE)
        yield env


@pytest.fixture
def gunicorn(server_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    if importlib.util.find_spec("gunicorn") is None:
        need("needs gunicorn (pip install -e '.[dev]')")
    try:
        with running_server("gunicorn", server_env, tmp_path / "gunicorn.log") as started:
            yield started
    except ServerStartError as exc:
        pytest.fail(f"could not start gunicorn: {exc}")


def signed_in_key(server: Server) -> str:
    """A header client's session, signed in to alice (the key rotates on login)."""
    client = server.client()
    first = client.get("/http/visits/")
    assert first.status == 200, first.body
    login = client.get("/http/login/alice/", **{"X-Session-ID": first.headers[HEADER]})
    assert login.status == 200, login.body
    return login.headers[HEADER]


def users_seen(server: Server, key: str, count: int = PARALLEL) -> list[str]:
    def who(_: int) -> str:
        reply = server.client().get("/http/who/", **{"X-Session-ID": key})
        assert reply.status == 200, reply.body
        return str(reply.json()["user"])

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(who, range(count)))


def test_a_logout_while_redis_is_paused_is_never_undone(
    gunicorn: Server, redis_server: RedisServer, server_env: dict[str, str]
) -> None:
    key = signed_in_key(gunicorn)
    assert users_seen(gunicorn, key) == ["alice"] * PARALLEL  # cached, and read by both workers
    redis_server.pause()
    try:
        logout = gunicorn.client().get("/http/logout/", **{"X-Session-ID": key})
    finally:
        redis_server.resume()
    assert logout.status == 200, logout.body
    assert run_django(server_env, SESSIONS_OF_ALICE) == 0
    assert users_seen(gunicorn, key).count("alice") == 0
    assert users_seen(gunicorn, key).count("alice") == 0
