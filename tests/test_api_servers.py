"""The REST API through real servers: gunicorn (WSGI, sync workers) and uvicorn (ASGI).

Each server runs as its own process on 127.0.0.1 with ``tests/support/server_settings.py``
against a scratch database (see ``tests/support/servers.py``); the test talks HTTP to it
and reads the database through ``manage.py shell``.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server_settings import SLOW_DELAY, SLOW_PROVIDER
from tests.support.servers import (
    Client,
    Server,
    ServerStartError,
    manage,
    run_django,
    running_server,
    scratch_database,
    server_environ,
)
from tests.support.services import need

API = "/api/v1/"
SERVERS = ["gunicorn", "uvicorn"]
# 17 words, so the slow provider's reply ("Mock response to: …") comes in 20 deltas.
SLOW_PROMPT = " ".join(f"word{n}" for n in range(1, 18))
SLOW_REPLY = f"Mock response to: {SLOW_PROMPT}"
SLOW_CHUNKS = 20
SETTLE_SECONDS = 10.0

CREATE_USERS = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
tokens = {}
for name in ("alice", "bob"):
    user = get_user_model().objects.create_user(username=name, password=None)
    tokens[name] = Token.objects.create(user=user).key
print(json.dumps(tokens))
"""

SESSION_COUNTERS = """
import json
from sessions_app.models import Session
session = Session.objects.get(pk="{session_id}")
print(json.dumps({{
    "message_count": session.message_count,
    "user_message_count": session.user_message_count,
    "assistant_message_count": session.assistant_message_count,
    "pending_replies": session.pending_replies,
}}))
"""


def url(*parts: Any) -> str:
    return API + "".join(f"{part}/" for part in parts)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of the servers: their migrated scratch database and settings."""
    directory = tmp_path_factory.mktemp("servers")
    with scratch_database(directory) as database_url:
        env = server_environ(database_url, directory)
        manage(env, "migrate", "--noinput", "-v", "0")
        yield env


@pytest.fixture(scope="module")
def tokens(server_env: dict[str, str]) -> dict[str, str]:
    """API tokens of two users, alice and bob."""
    return run_django(server_env, CREATE_USERS)


@pytest.fixture(scope="module", params=SERVERS)
def server(
    request: pytest.FixtureRequest,
    server_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    kind = request.param
    if importlib.util.find_spec(kind) is None:
        need(f"needs {kind} (pip install -e '.[dev]')")
    log = Path(tmp_path_factory.mktemp(kind)) / f"{kind}.log"
    try:
        with running_server(kind, server_env, log) as started:
            yield started
    except ServerStartError as exc:
        pytest.fail(f"could not start {kind}: {exc}")


@pytest.fixture
def alice(server: Server, tokens: dict[str, str]) -> Client:
    return server.client(Authorization=f"Token {tokens['alice']}")


@pytest.fixture
def bob(server: Server, tokens: dict[str, str]) -> Client:
    return server.client(Authorization=f"Token {tokens['bob']}")


# --- helpers ------------------------------------------------------------------------------


def new_session(client: Client, **body: Any) -> dict[str, Any]:
    reply = client.post(url("sessions"), body)
    assert reply.status == 201, reply.body
    return reply.json()


def history(client: Client, session_id: str) -> list[dict[str, Any]]:
    reply = client.get(url("sessions", session_id, "messages"))
    assert reply.status == 200, reply.body
    return reply.json()["results"]


def settled_history(client: Client, session_id: str, count: int) -> list[dict[str, Any]]:
    """The history once it has ``count`` messages; the server stores a reply after we hang up."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        messages = history(client, session_id)
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


# --- the contract -------------------------------------------------------------------------


def test_contract_of_sessions_messages_and_context(
    server: Server, alice: Client, bob: Client
) -> None:
    created = new_session(alice, provider="mock", name="smoke")
    session_id, key = created["id"], created["session_key"]

    sent = alice.post(url("sessions", session_id, "messages"), {"content": "hello"})
    assert sent.status == 201, sent.body
    assert sent.json()["message"]["content"] == "hello"
    assert sent.json()["reply"]["content"] == "Mock response to: hello"
    assert sent.json()["reply"]["status"] == "complete"

    assert [(m["role"], m["content"]) for m in history(alice, session_id)] == [
        ("user", "hello"),
        ("assistant", "Mock response to: hello"),
    ]

    anonymous = server.client(**{"X-Session-ID": key})
    by_key = anonymous.get(url("sessions", session_id))
    assert by_key.status == 200, by_key.body
    assert by_key.json()["message_count"] == 2
    assert bob.get(url("sessions", session_id)).status == 404


def test_context_changes_need_the_current_version(alice: Client) -> None:
    session_id = new_session(alice, provider="mock")["id"]
    path = url("sessions", session_id, "context")
    etag = alice.get(path).headers["etag"]

    changed = alice.request("PATCH", path, {"user_context": {"lang": "fr"}}, {"If-Match": etag})
    assert changed.status == 200, changed.body
    assert changed.json()["user_context"] == {"lang": "fr"}
    assert changed.headers["etag"] != etag

    stale = alice.request("PATCH", path, {"user_context": {"lang": "de"}}, {"If-Match": etag})
    assert stale.status == 412, stale.body


def test_deleted_session_is_gone(alice: Client) -> None:
    session_id = new_session(alice, provider="mock")["id"]
    assert alice.request("DELETE", url("sessions", session_id)).status == 204
    assert alice.get(url("sessions", session_id)).status == 404


def test_health_and_schema(server: Server) -> None:
    anyone = server.client()
    health = anyone.get(url("health"))
    assert health.status == 200, health.body
    assert health.json()["status"] == "healthy"
    schema = anyone.get(url("schema"), Accept="application/vnd.oai.openapi+json")
    assert schema.status == 200, schema.body
    assert "/api/v1/sessions/" in schema.json()["paths"]


# --- streaming ----------------------------------------------------------------------------


def test_stream_delivers_each_delta_as_it_is_generated(alice: Client) -> None:
    session_id = new_session(alice, provider=SLOW_PROVIDER)["id"]
    with alice.stream(url("sessions", session_id, "messages"), {"content": SLOW_PROMPT}) as stream:
        assert stream.status == 200
        assert stream.content_type.startswith("text/event-stream")
        events = list(stream.events())

    names = [event.name for event in events]
    assert names == ["message", *["delta"] * SLOW_CHUNKS, "done"], names
    assert events[0].data["content"] == SLOW_PROMPT
    deltas = events[1:-1]
    done = events[-1].data
    assert "".join(event.data["text"] for event in deltas) == SLOW_REPLY
    assert (done["role"], done["content"], done["status"]) == (
        "assistant",
        SLOW_REPLY,
        "complete",
    )
    # 19 of the 20 pauses lie between the first delta and the end: a buffered response
    # would deliver everything at once.
    assert events[-1].at - deltas[0].at > SLOW_DELAY / 2
    assert history(alice, session_id)[-1] == done


def test_hanging_up_mid_stream_stores_the_partial_reply(
    alice: Client, server_env: dict[str, str]
) -> None:
    session_id = new_session(alice, provider=SLOW_PROVIDER)["id"]
    with alice.stream(url("sessions", session_id, "messages"), {"content": SLOW_PROMPT}) as stream:
        first = stream.next_event()
        second = stream.next_event()
    assert first is not None and first.name == "message"
    assert second is not None and second.name == "delta"

    messages = settled_history(alice, session_id, 2)
    assert [m["role"] for m in messages] == ["user", "assistant"], messages
    user, reply = messages
    assert (user["content"], user["status"]) == (SLOW_PROMPT, "complete")
    assert reply["status"] == "incomplete"
    assert reply["content"].startswith(second.data["text"])
    assert SLOW_REPLY.startswith(reply["content"])
    assert len(reply["content"]) < len(SLOW_REPLY)

    counters = run_django(server_env, SESSION_COUNTERS.format(session_id=session_id))
    assert counters == {
        "message_count": 2,
        "user_message_count": 1,
        "assistant_message_count": 1,
        "pending_replies": 0,
    }


# A client gone before gunicorn wrote anything makes the write of the first event fail: the
# stream is closed before the reply's stream began. Not under uvicorn: there such a client
# aborts the request before the view runs or, gone while the view runs, has Django cancel the
# request and drop the response unread, a turn no stream code ever sees (a known gap).
@pytest.mark.parametrize("server", ["gunicorn"], indirect=True)
def test_hanging_up_before_the_reply_begins_still_finishes_the_turn(
    alice: Client, server_env: dict[str, str]
) -> None:
    session_id = new_session(alice, provider=SLOW_PROVIDER)["id"]
    alice.post_and_hang_up(url("sessions", session_id, "messages"), {"content": SLOW_PROMPT})

    messages = settled_history(alice, session_id, 2)
    assert [m["role"] for m in messages] == ["user", "assistant"], messages
    reply = messages[1]
    assert reply["status"] == "incomplete"
    assert SLOW_REPLY.startswith(reply["content"])
    counters = run_django(server_env, SESSION_COUNTERS.format(session_id=session_id))
    assert counters["pending_replies"] == 0
    assert counters["message_count"] == counters["user_message_count"] * 2 == 2
