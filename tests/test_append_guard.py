"""The two forms of the append guard agree: the ORM transaction and PostgreSQL's one statement.

``sessions_app/services/append.py`` appends a message in one hand-written
statement on PostgreSQL (``_append_in_one_statement``: a CTE whose
``UPDATE … RETURNING`` feeds the ``INSERT``) and in a short ORM transaction
elsewhere (``_append_in_a_transaction``). Both carry the same guard: with
``reserve`` set, the session must be writable, not expired at ``now`` and have
room for ``reserve`` more messages under ``max_messages`` counting pending
replies (``None`` is unlimited; 0 leaves no room); a reply (``reserve=None``)
only needs its session to exist.

Over a grid of session states, the ORM form is checked against that rule on
every database, and on PostgreSQL both forms run on twin rows (identical but
for their keys) and must give the same verdict and leave the same row and
message behind. On SQLite the SQL form cannot run, so its half is skipped.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from sessions_app.models import (
    WRITABLE_STATUSES,
    Message,
    MessageRole,
    Sandbox,
    Session,
    SessionStatus,
)
from sessions_app.services import sql
from sessions_app.services.append import (
    Append,
    _append_in_a_transaction,
    _append_in_one_statement,
)
from tests.support.services import need

# Expiry relative to the append's ``now``: a session expiring exactly then is expired.
EXPIRIES = {
    "no expiry": None,
    "expires later": timedelta(hours=1),
    "expires now": timedelta(0),
    "expired": timedelta(hours=-1),
}

# (max_messages, message_count, pending_replies): room left is max - count - pending.
ROOMS = {
    "unlimited": (None, 7, 1),
    "max 0": (0, 0, 0),
    "two below the limit": (4, 1, 1),
    "one below the limit": (4, 2, 1),
    "at the limit": (4, 3, 1),
    "at the limit, no pending": (4, 4, 0),
    "over the limit": (4, 5, 0),
}

# reserve → (role, change of pending_replies), as the services (incoming, replies) send them.
KINDS = {
    None: (MessageRole.ASSISTANT, -1),  # a reply completing an accepted turn
    1: (MessageRole.SYSTEM, 0),
    2: (MessageRole.USER, 1),  # a user message holds a slot for its reply
}

GRID = [
    pytest.param(status, expiry, room, reserve, id=f"{status}-{expiry}-{room}-reserve {reserve}")
    for status, expiry, room, reserve in itertools.product(
        SessionStatus.values, EXPIRIES, ROOMS, KINDS
    )
]

ROLE_COUNTERS = {
    MessageRole.USER: "user_message_count",
    MessageRole.ASSISTANT: "assistant_message_count",
    MessageRole.SYSTEM: "system_message_count",
}
# Every column of a session but its identity, i.e. all a twin must share.
SESSION_FIELDS = [
    f.attname for f in Session._meta.concrete_fields if f.name not in ("id", "key_hash")
]
MESSAGE_FIELDS = [
    f.attname for f in Message._meta.concrete_fields if f.name not in ("id", "session")
]


def make_session(sandbox: Sandbox, status: str, expiry: str, room: str, now: Any) -> Session:
    max_messages, count, pending = ROOMS[room]
    offset = EXPIRIES[expiry]
    return Session.objects.create(
        key_hash=uuid.uuid4().hex,
        sandbox=sandbox,
        status=status,
        provider="mock",
        model="mock-model",
        created_at=now - timedelta(days=1),
        last_activity=now - timedelta(minutes=5),
        expires_at=None if offset is None else now + offset,
        max_messages=max_messages,
        last_seq=count + 3,  # sequence numbers of deleted messages are not reused
        message_count=count,
        pending_replies=pending,
        user_message_count=count,
        input_tokens=10,
        output_tokens=20,
        provider_calls=1,
        total_response_time_ms=100,
        estimated_cost=Decimal("0.000100"),
    )


def make_append(session: Session, reserve: int | None, now: Any) -> Append:
    """The operation ``store_message`` would build for this kind of message."""
    role, pending = KINDS[reserve]
    is_reply = reserve is None
    message = Message(
        session_id=session.pk,
        role=role,
        content=f"a {role} message",
        created_at=now,
        metadata={"n": 1},
        provider_message_id="msg-1" if is_reply else "",
        provider_metadata={"model": "mock-model", "state": {}} if is_reply else {},
        input_tokens=3 if is_reply else 0,
        output_tokens=5 if is_reply else 0,
        processing_time_ms=42 if is_reply else None,
    )
    increments: dict[str, int | Decimal] = {
        "last_seq": 1,
        "message_count": 1,
        ROLE_COUNTERS[role]: 1,
        "input_tokens": message.input_tokens,
        "output_tokens": message.output_tokens,
    }
    if is_reply:
        increments |= {
            "provider_calls": 1,
            "total_response_time_ms": 42,
            "estimated_cost": Decimal("0.000012"),
        }
    return Append(message, increments, now, reserve=reserve, pending=pending)


def row(session: Session) -> dict[str, Any]:
    return Session.objects.filter(pk=session.pk).values(*SESSION_FIELDS).get()


def messages(session: Session) -> list[dict[str, Any]]:
    return list(Message.objects.filter(session=session).order_by("seq").values(*MESSAGE_FIELDS))


def allowed(status: str, expiry: str, room: str, reserve: int | None) -> bool:
    """The guard as documented: a reply always; else writable, not expired and with room."""
    if reserve is None:
        return True
    offset = EXPIRIES[expiry]
    max_messages, count, pending = ROOMS[room]
    return (
        status in WRITABLE_STATUSES
        and (offset is None or offset > timedelta(0))
        and (max_messages is None or count + pending + reserve <= max_messages)
    )


def run_orm_form(op: Append) -> bool:
    return _append_in_a_transaction(op, sql.connection_for(Message).alias)


def run_sql_form(op: Append) -> bool:
    return _append_in_one_statement(op, sql.connection_for(Message))


@pytest.fixture
def sandbox(db):
    return Sandbox.objects.create(slug="guard")


@pytest.mark.parametrize(("status", "expiry", "room", "reserve"), GRID)
def test_orm_form_follows_the_guard(sandbox, status, expiry, room, reserve):
    now = timezone.now()
    session = make_session(sandbox, status, expiry, room, now)
    before = row(session)
    op = make_append(session, reserve, now)

    stored = run_orm_form(op)

    assert stored is allowed(status, expiry, room, reserve)
    after = row(session)
    if not stored:
        assert after == before
        assert messages(session) == []
        return
    role, pending = KINDS[reserve]
    assert after["last_seq"] == before["last_seq"] + 1 == op.message.seq
    assert after["message_count"] == before["message_count"] + 1
    counter = ROLE_COUNTERS[role]
    assert after[counter] == before[counter] + 1
    assert after["pending_replies"] == max(before["pending_replies"] + pending, 0)
    assert after["status"] == (SessionStatus.ACTIVE if reserve is not None else status)
    assert after["last_activity"] == now
    assert [m["seq"] for m in messages(session)] == [op.message.seq]


@pytest.fixture
def sql_form() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        need(
            "the SQL form of the append (a CTE with UPDATE … RETURNING) runs only on "
            "PostgreSQL; set DATABASE_URL=postgres://… to compare it with the ORM form"
        )


@pytest.mark.parametrize(("status", "expiry", "room", "reserve"), GRID)
def test_sql_form_agrees_with_orm_form(sql_form, sandbox, status, expiry, room, reserve):
    now = timezone.now()
    orm_session = make_session(sandbox, status, expiry, room, now)
    sql_session = make_session(sandbox, status, expiry, room, now)
    assert row(orm_session) == row(sql_session)
    orm_op = make_append(orm_session, reserve, now)
    sql_op = make_append(sql_session, reserve, now)

    orm_stored = run_orm_form(orm_op)
    sql_stored = run_sql_form(sql_op)

    assert sql_stored == orm_stored, "the two forms disagree on whether the append is allowed"
    assert row(sql_session) == row(orm_session)
    assert messages(sql_session) == messages(orm_session)
    assert sql_op.message.seq == orm_op.message.seq
