"""PostgreSQL backends terminated while the provider works: nothing of the turn is lost.

The provider ("slow", the mock with a delay) works for ``DELAY`` seconds; after
``KILL_AFTER`` a thread terminates every other backend of the test database
from a connection of its own, as a restart or failover would.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

from sessions_app.models import IdempotencyRecord, Message, MessageRole, Session
from sessions_app.providers import register_provider, unregister_provider
from sessions_app.providers.mock import MockProvider
from tests.support.api import client_for, create, url
from tests.support.servers import free_port
from tests.support.services import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DELAY = 2.0
KILL_AFTER = 0.8


@pytest.fixture(autouse=True)
def _slow_provider(settings) -> Iterator[None]:
    require_postgres()
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "THROTTLE_RATES": {"user": None, "anon": None, "session": None},
    }
    register_provider("slow", MockProvider, delay=DELAY)
    yield
    unregister_provider("slow")
    if not connection.is_usable():  # left broken by a failure: the flush after the test needs one
        connection.close()


def _admin() -> Any:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def terminate_backends() -> int:
    """Ends every other backend of the test database; how many there were."""
    with _admin() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


@contextlib.contextmanager
def after(seconds: float, action: Any) -> Iterator[list[Any]]:
    """Runs ``action`` in a thread after ``seconds``; its result in the list when done."""
    result: list[Any] = []
    timer = threading.Timer(seconds, lambda: result.append(action()))
    timer.start()
    try:
        yield result
    finally:
        timer.cancel()
        timer.join()


@pytest.fixture
def as_alice(django_user_model) -> Any:
    return client_for(django_user_model.objects.create_user("alice", password="pw"))


def send(client: Any, path: str, key: str) -> Any:
    return client.post(path, {"content": "hi"}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_blip_mid_turn_stores_the_reply_frees_the_slot_and_completes_the_key(as_alice):
    session = create(as_alice, provider="slow")
    path = url("sessions", session["id"], "messages")
    with after(KILL_AFTER, terminate_backends) as killed:
        first = send(as_alice, path, "turn-1")
    assert killed == [1]  # the request's own connection
    assert first.status_code == 201, first.content
    reply = first.json()["reply"]
    assert reply["role"] == MessageRole.ASSISTANT and reply["content"] == "Mock response to: hi"
    stored = Session.objects.get(pk=session["id"])
    assert (stored.message_count, stored.pending_replies, stored.last_seq) == (2, 0, 2)
    assert IdempotencyRecord.objects.get().status_code == 201

    again = send(as_alice, path, "turn-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Message.objects.filter(session_id=session["id"]).count() == 2


def test_a_connection_dropped_between_requests_is_reopened_by_the_first_write(as_alice):
    session = create(as_alice)
    terminate_backends()  # while idle, as a restart between two requests does
    response = send(as_alice, url("sessions", session["id"], "messages"), "turn-1")
    assert response.status_code == 201, response.content
    assert Message.objects.filter(session_id=session["id"]).count() == 2


@contextlib.contextmanager
def database_gone() -> Iterator[None]:
    """Connections go to a closed port (and the open one is ended) until the context ends."""
    settings_dict = connection.settings_dict
    port = settings_dict["PORT"]
    settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        settings_dict["PORT"] = port
        connection.close()


def test_a_database_gone_for_the_whole_request_is_503_and_the_retry_runs_once(as_alice):
    session = create(as_alice, provider="slow")
    path = url("sessions", session["id"], "messages")
    terminate_backends()
    with database_gone():
        first = send(as_alice, path, "turn-1")
    assert first.status_code == 503, first.content
    assert first.json()["code"] == "database_unavailable" and int(first["Retry-After"]) >= 1
    assert not Message.objects.exists()

    again = send(as_alice, path, "turn-1")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Message.objects.filter(session_id=session["id"]).count() == 2


def test_a_database_gone_mid_turn_is_503_and_keeps_the_user_message(as_alice):
    session = create(as_alice, provider="slow")
    path = url("sessions", session["id"], "messages")
    gone = database_gone()

    def vanish() -> int:
        killed = terminate_backends()
        gone.__enter__()
        return killed

    try:
        with after(KILL_AFTER, vanish):
            first = send(as_alice, path, "turn-1")
    finally:
        gone.__exit__(None, None, None)
    assert first.status_code == 503, first.content
    body = first.json()
    assert body["code"] == "database_unavailable" and int(first["Retry-After"]) >= 1
    (message,) = Message.objects.filter(session_id=session["id"])
    assert message.role == MessageRole.USER and body["details"] == {"message_id": str(message.pk)}
