"""The issue's reproduction under gunicorn: backends terminated while the provider works.

gunicorn (``DEBUG`` off) runs against a scratch PostgreSQL database; while the
slow mock provider works on a reply, a thread terminates every backend of that
database. The turn still ends with its reply stored and the key completed, and
the worker whose kept connection was ended while idle answers its next request.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
import pytest

from tests.support.server_settings import SLOW_PROVIDER
from tests.support.servers import (
    Client,
    Server,
    manage,
    run_django,
    running_server,
    scratch_database,
    server_environ,
)
from tests.support.services import need, require_postgres

pytestmark = pytest.mark.postgres

KILL_AFTER = 0.8  # of the slow provider's 2 s
API = "/api/v1/"

ALICE_TOKEN = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_user(username="alice", password=None)
print(json.dumps(Token.objects.create(user=user).key))
"""

SESSION_STATE = """
import json
from sessions_app.models import IdempotencyRecord, Session
session = Session.objects.get(pk="{session_id}")
print(json.dumps({{
    "messages": list(session.messages.values_list("role", flat=True)),
    "pending_replies": session.pending_replies,
    "records": list(IdempotencyRecord.objects.values_list("status_code", flat=True)),
}}))
"""


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    require_postgres()
    if importlib.util.find_spec("gunicorn") is None:
        need("needs gunicorn (pip install -e '.[dev]')")
    directory = tmp_path_factory.mktemp("blip")
    with scratch_database(directory) as database_url:
        env = {
            **server_environ(database_url, directory),
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on 127.0.0.1
        }
        manage(env, "migrate", "--noinput", "-v", "0")
        yield env


@pytest.fixture(scope="module")
def server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    log = Path(tmp_path_factory.mktemp("gunicorn")) / "gunicorn.log"
    with running_server("gunicorn", server_env, log) as started:
        yield started


def terminate_backends(database_url: str) -> int:
    config = dj_database_url.parse(database_url)
    with psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname=config["NAME"],
        autocommit=True,
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_backends_terminated_mid_turn_lose_nothing(server: Server, server_env: dict[str, str]):
    alice: Client = server.client(Authorization=f"Token {run_django(server_env, ALICE_TOKEN)}")
    created = alice.post(API + "sessions/", {"provider": SLOW_PROVIDER})
    assert created.status == 201, created.body
    session_id = created.json()["id"]
    path = f"{API}sessions/{session_id}/messages/"
    killed: list[int] = []
    timer = threading.Timer(
        KILL_AFTER, lambda: killed.append(terminate_backends(server_env["DATABASE_URL"]))
    )
    timer.start()
    try:
        first = alice.post(path, {"content": "hi"}, **{"Idempotency-Key": "blip-1"})
    finally:
        timer.join()
    assert killed and killed[0] >= 1
    assert first.status == 201, first.body
    assert first.json()["reply"]["content"] == "Mock response to: hi"
    state = run_django(server_env, SESSION_STATE.format(session_id=session_id))
    assert state == {"messages": ["user", "assistant"], "pending_replies": 0, "records": [201]}
    # The other worker's kept connection was ended while idle: its next request reconnects.
    assert [alice.get(API + "sessions/").status for _ in range(4)] == [200] * 4

    again = alice.post(path, {"content": "hi"}, **{"Idempotency-Key": "blip-1"})
    assert again.status == 201 and again.headers["idempotent-replayed"] == "true"
    assert run_django(server_env, SESSION_STATE.format(session_id=session_id)) == state
