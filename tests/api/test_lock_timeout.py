"""A stuck row lock does not hang a request: after ``LOCK_TIMEOUT`` the API answers 503 busy.

On PostgreSQL every connection waits at most ``LOCK_TIMEOUT`` ms for a lock; another
connection holds the session's row (``SELECT … FOR UPDATE``) far longer than that.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseErrorWrapper

from sessions_app.db_locks import is_lock_timeout
from sessions_app.models import Session
from tests.support.api import create, url

TIMEOUT_MS = 300
HELD_FOR = 10.0  # seconds: far longer than the timeout, and than any answer may take


@contextmanager
def row_locked(session_id: str) -> Iterator[None]:
    """Another connection holds the session's row lock until the block ends."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Session.objects.select_for_update().get(pk=session_id)
                taken.set()
                done.wait(HELD_FOR)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(5), "the holder did not get the lock"
        yield
    finally:
        done.set()
        holder.join()


@pytest.fixture
def lock_timeout(settings) -> None:
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "LOCK_TIMEOUT": TIMEOUT_MS}


WRITES = [
    ("patch", (), {"name": "renamed"}),
    ("post", ("messages",), {"content": "hello"}),
    ("patch", ("context",), {"user_context": {"a": 1}}),
    ("post", ("extend",), {"seconds": 60}),
    ("post", ("archive",), None),
    ("delete", ("messages",), None),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method, parts, body", WRITES)
def test_a_write_behind_a_stuck_lock_is_503_busy_promptly(
    postgres, lock_timeout, as_alice, method, parts, body
):
    created = create(as_alice)
    path = url("sessions", created["id"], *parts)
    with row_locked(created["id"]):
        started = time.monotonic()
        response = getattr(as_alice, method)(path, body, format="json")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "busy"
    assert int(response["Retry-After"]) >= 1
    assert elapsed < HELD_FOR / 2
    # Nothing was half-done: the same request succeeds once the lock is gone.
    again = getattr(as_alice, method)(path, body, format="json")
    assert again.status_code in (200, 201, 204), again.content


@pytest.mark.django_db(transaction=True)
def test_reads_do_not_wait_for_row_locks(postgres, lock_timeout, as_alice):
    created = create(as_alice)
    with row_locked(created["id"]):
        assert as_alice.get(url("sessions", created["id"])).status_code == 200
        assert as_alice.get(url("sessions", created["id"], "messages")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_timeout_follows_the_setting(postgres, settings):
    def current() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            value: str = cursor.fetchone()[0]
        return value

    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "LOCK_TIMEOUT": 1500}
    assert current() == "1500ms"
    connection.close()
    assert current() == "1500ms"  # a new connection gets it too
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "LOCK_TIMEOUT": None}
    assert current() == "0"  # the server's default again


def sqlite_busy_error(path: Path) -> Exception:
    """The error SQLite raises when its busy timeout ends, as Django raises it."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0)
    try:
        with DatabaseErrorWrapper(SimpleNamespace(Database=sqlite3, errors_occurred=False)):
            waiter.execute("BEGIN IMMEDIATE")
    except Exception as exc:
        return exc
    finally:
        waiter.close()
        holder.close()
    raise AssertionError("SQLite did not report the lock")


def test_sqlites_busy_timeout_counts_as_busy_too(tmp_path):
    assert is_lock_timeout(sqlite_busy_error(tmp_path / "locked.sqlite3"))


def test_a_busy_database_is_503_busy_on_any_backend(as_alice, monkeypatch, tmp_path):
    created = create(as_alice)
    error = sqlite_busy_error(tmp_path / "locked.sqlite3")

    def stuck(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr("sessions_app.services.sessions.update_details", stuck)
    response = as_alice.patch(url("sessions", created["id"]), {"name": "x"}, format="json")
    assert response.status_code == 503 and response.json()["code"] == "busy"
    assert response["Retry-After"]


def test_other_database_errors_are_not_busy():
    from django.db import IntegrityError, OperationalError

    assert not is_lock_timeout(OperationalError("server closed the connection unexpectedly"))
    assert not is_lock_timeout(IntegrityError("duplicate key"))


def test_a_busy_database_outside_the_views_is_503_busy_under_the_api(db, rf, tmp_path):
    """E.g. the session middleware's save: Django's handler500 answers, not DRF's."""
    from sessions_app.api.errors import server_error

    try:
        raise sqlite_busy_error(tmp_path / "locked.sqlite3")
    except Exception:
        response = server_error(rf.get(url("sessions")))
    assert response.status_code == 503 and json.loads(response.content)["code"] == "busy"
    assert response["Retry-After"]
