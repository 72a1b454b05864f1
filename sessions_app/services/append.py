"""Appending a message: the next sequence number, exact counters and the insert, atomically.

On PostgreSQL this is one statement (an ``UPDATE … RETURNING`` feeding the
``INSERT`` in a CTE), so an append is a single round trip that holds the
session row lock only for its own duration. Elsewhere it is a short
transaction: guarded UPDATE, read of the sequence number, INSERT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Q

from sessions_app.models import WRITABLE_STATUSES, Message, Session, SessionStatus
from sessions_app.services.selectors import not_expired


@dataclass(frozen=True)
class Append:
    message: Message  # unsaved; ``seq`` is filled in when the append succeeds
    increments: dict[str, int | Decimal]  # Session counter field → amount to add
    now: datetime
    max_count: int | None = None  # refuse unless the session has at most this many messages


def append(op: Append) -> bool:
    """Store ``op.message``; False (nothing written) when the guard refuses the session.

    The guard: the session is writable, not expired, and within ``max_count``.
    """
    alias = router.db_for_write(Message)
    connection = connections[alias]
    stored = (
        _append_in_one_statement(op, connection)
        if connection.vendor == "postgresql"
        else _append_in_a_transaction(op, alias)
    )
    if stored:
        op.message._state.adding = False
        op.message._state.db = alias
    return stored


def _append_in_a_transaction(op: Append, alias: str) -> bool:
    guard = Q(pk=op.message.session_id, status__in=WRITABLE_STATUSES) & not_expired(op.now)
    if op.max_count is not None:
        guard &= Q(message_count__lte=op.max_count)
    changes: dict[str, Any] = {name: F(name) + amount for name, amount in op.increments.items()}
    with transaction.atomic(using=alias):
        updated = Session.objects.using(alias).filter(guard).update(
            **changes, last_activity=op.now, status=SessionStatus.ACTIVE
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


def _column(model: type, name: str, connection: BaseDatabaseWrapper) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _prep(model: type, name: str, value: Any, connection: BaseDatabaseWrapper) -> Any:
    return model._meta.get_field(name).get_db_prep_save(value, connection)


def _append_in_one_statement(op: Append, connection: BaseDatabaseWrapper) -> bool:
    def scol(name: str) -> str:
        return _column(Session, name, connection)

    sets = [f"{scol(name)} = {scol(name)} + %s" for name in op.increments]
    sets += [f"{scol('last_activity')} = %s", f"{scol('status')} = %s"]
    set_params: list[Any] = [*op.increments.values()]
    set_params += [_prep(Session, "last_activity", op.now, connection), SessionStatus.ACTIVE]

    statuses = ", ".join(["%s"] * len(WRITABLE_STATUSES))
    where = (
        f"{scol('id')} = %s AND {scol('status')} IN ({statuses}) "
        f"AND ({scol('expires_at')} IS NULL OR {scol('expires_at')} > %s)"
    )
    where_params: list[Any] = [
        _prep(Session, "id", op.message.session_id, connection),
        *WRITABLE_STATUSES,
        _prep(Session, "expires_at", op.now, connection),
    ]
    if op.max_count is not None:
        where += f" AND {scol('message_count')} <= %s"
        where_params.append(op.max_count)

    fields = [f for f in Message._meta.concrete_fields if f.name not in ("session", "seq")]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    values = [f.get_db_prep_save(getattr(op.message, f.attname), connection) for f in fields]
    session_fk = _column(Message, "session", connection)
    seq = _column(Message, "seq", connection)
    sql = (
        f"WITH counted AS (UPDATE {Session._meta.db_table} SET {', '.join(sets)} "
        f"WHERE {where} RETURNING {scol('id')} AS sid, {scol('last_seq')} AS next_seq) "
        f"INSERT INTO {Message._meta.db_table} ({', '.join(columns)}, {session_fk}, {seq}) "
        f"SELECT {', '.join(['%s'] * len(values))}, sid, next_seq FROM counted "
        f"RETURNING {seq}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, *where_params, *values])
        row = cursor.fetchone()
    if row is None:
        return False
    op.message.seq = row[0]
    return True
