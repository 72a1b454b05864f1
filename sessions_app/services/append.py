"""Appending a message: the next sequence number, exact counters and the insert, atomically.

On PostgreSQL this is one statement (an ``UPDATE … RETURNING`` feeding the
``INSERT`` in a CTE), so an append is a single round trip that holds the
session row lock only for its own duration. Elsewhere it is a short
transaction: guarded UPDATE, read of the sequence number, INSERT.

An append that lost its connection runs once more on a fresh one. The message
keeps its id, so if the first try was stored after all (only its answer was
lost), the second cannot store it again: it is found instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest

from sessions_app.models import WRITABLE_STATUSES, Message, Session, SessionStatus
from sessions_app.services import reconnect, sql
from sessions_app.services.selectors import not_expired


@dataclass(frozen=True)
class Append:
    """One message to append, with what it changes on its session.

    With ``reserve`` set (a new user or system message), the append is refused
    unless the session is writable, not expired, and has room for ``reserve``
    messages under ``max_messages`` counting replies still pending. Without it
    (a reply completing a turn already accepted), the session only has to exist.
    """

    message: Message  # unsaved; ``seq`` is filled in when the append succeeds
    increments: dict[str, int | Decimal]  # Session counter field → amount to add
    now: datetime
    reserve: int | None = None
    pending: int = 0  # change of ``pending_replies``: +1 for a user message, -1 for its reply


Write = Callable[[Append, BaseDatabaseWrapper], bool]


def append(op: Append) -> bool:
    """Store ``op.message``; False (nothing written) when the guard refuses the session."""
    connection = sql.connection_for(Message)
    write = _append_in_one_statement if connection.vendor == "postgresql" else _in_a_transaction
    try:
        stored = write(op, connection)
    except reconnect.DISCONNECTED as exc:
        reconnect.reopen_after(exc, connection)
        stored = _append_again(op, connection, write)
    if stored:
        op.message._state.adding = False
        op.message._state.db = connection.alias
    return stored


def _in_a_transaction(op: Append, connection: BaseDatabaseWrapper) -> bool:
    return _append_in_a_transaction(op, connection.alias)


def _append_again(op: Append, connection: BaseDatabaseWrapper, write: Write) -> bool:
    """The append on a fresh connection, or the message the lost one stored after all."""
    try:
        if write(op, connection):
            return True
    except IntegrityError:  # its id is taken: by the first try, or the error is real
        if not _already_stored(op, connection):
            raise
        return True
    return _already_stored(op, connection)


def _already_stored(op: Append, connection: BaseDatabaseWrapper) -> bool:
    stored = Message.objects.using(connection.alias).filter(pk=op.message.pk)
    seq = stored.values_list("seq", flat=True).first()
    if seq is None:
        return False
    op.message.seq = seq
    return True


def _guard(op: Append) -> Q:
    guard = Q(pk=op.message.session_id)
    if op.reserve is not None:
        room = Q(max_messages__isnull=True) | Q(
            max_messages__gte=F("message_count") + F("pending_replies") + op.reserve
        )
        guard &= Q(status__in=WRITABLE_STATUSES) & not_expired(op.now) & room
    return guard


def _append_in_a_transaction(op: Append, alias: str) -> bool:
    changes: dict[str, Any] = {name: F(name) + amount for name, amount in op.increments.items()}
    if op.pending:
        changes["pending_replies"] = Greatest(F("pending_replies") + op.pending, Value(0))
    if op.reserve is not None:  # a new message wakes an idle session; a reply changes no status
        changes["status"] = SessionStatus.ACTIVE
    with transaction.atomic(using=alias):
        updated = (
            Session.objects.using(alias).filter(_guard(op)).update(**changes, last_activity=op.now)
        )
        if not updated:
            return False
        op.message.seq = (
            Session.objects.using(alias)
            .filter(pk=op.message.session_id)
            .values_list("last_seq", flat=True)
            .get()
        )
        op.message.save(using=alias, force_insert=True)
    return True


def _append_in_one_statement(op: Append, connection: BaseDatabaseWrapper) -> bool:
    def col(name: str) -> str:
        return sql.column(Session, name, connection)

    sets = [f"{col(name)} = {col(name)} + %s" for name in op.increments]
    params: list[Any] = [*op.increments.values()]
    if op.pending:
        sets.append(f"{col('pending_replies')} = GREATEST({col('pending_replies')} + %s, 0)")
        params.append(op.pending)
    sets.append(f"{col('last_activity')} = %s")
    params.append(sql.prepare(Session, "last_activity", op.now, connection))
    if op.reserve is not None:
        sets.append(f"{col('status')} = %s")
        params.append(SessionStatus.ACTIVE)

    where = f"{col('id')} = %s"
    params.append(sql.prepare(Session, "id", op.message.session_id, connection))
    if op.reserve is not None:
        statuses = ", ".join(["%s"] * len(WRITABLE_STATUSES))
        used = f"{col('message_count')} + {col('pending_replies')} + %s"
        where += (
            f" AND {col('status')} IN ({statuses})"
            f" AND ({col('expires_at')} IS NULL OR {col('expires_at')} > %s)"
            f" AND ({col('max_messages')} IS NULL OR {used} <= {col('max_messages')})"
        )
        params += [*WRITABLE_STATUSES, sql.prepare(Session, "expires_at", op.now, connection)]
        params.append(op.reserve)

    columns, values = sql.insert_values(op.message, ("session", "seq"), connection)
    session_fk, seq = (
        sql.column(Message, "session", connection),
        sql.column(Message, "seq", connection),
    )
    statement = (
        f"WITH counted AS (UPDATE {Session._meta.db_table} SET {', '.join(sets)} "
        f"WHERE {where} RETURNING {col('id')} AS sid, {col('last_seq')} AS next_seq) "
        f"INSERT INTO {Message._meta.db_table} ({', '.join(columns)}, {session_fk}, {seq}) "
        f"SELECT {', '.join(['%s'] * len(values))}, sid, next_seq FROM counted RETURNING {seq}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, *values])
        row = cursor.fetchone()
    if row is None:
        return False
    op.message.seq = row[0]
    return True
