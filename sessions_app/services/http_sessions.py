"""HTTP sessions behind ``request.session``: Session rows found by the hash of their key.

The engine (``sessions_app.http``) calls this module. It caches one small entry per
key (``http.entry_cache``): the decoded payload and the times that decide whether
the session is still live. Reads hit the cache first; writes go to the database,
then refresh the entry.

The engine loads and writes only live web sessions: rows it created (no provider,
a Django payload), in a writable status and not expired. Any other row (a
conversation, a TTL session, an archived, expired or deleted session) reads as an
unknown key, and every statement that writes carries the same condition, so such a
row is never written. A row's owner is never changed: a link to a user is written
only to a row with no owner or that owner.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app.conf import app_settings
from sessions_app.http import entry_cache, revocations
from sessions_app.http.cache_keys import FOREIGN, REVOKED
from sessions_app.models import WRITABLE_STATUSES, Sandbox, Session, SessionStatus
from sessions_app.services import lifecycle, sql
from sessions_app.services.sandboxes import get_or_create_sandbox
from sessions_app.services.selectors import not_expired


class Entry(NamedTuple):
    """What the engine knows of a live session; cached as a plain tuple (small, fast)."""

    data: dict[str, Any]  # the decoded payload
    expires: float | None  # epoch seconds, like the two below
    created: float
    seen: float  # last activity


ENTRY_FIELDS = ("session_data", "expires_at", "created_at", "last_activity")
ENTRY_LENGTH = len(Entry._fields)
SELECT_FIELDS = (*ENTRY_FIELDS, "status", "provider")  # the entry, and whether it is the engine's
WEB_PROVIDER = ""  # a web session has no provider, and a payload (the engine always writes one)
WEB_PARAMS = [*WRITABLE_STATUSES, WEB_PROVIDER, ""]


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def _entry(
    data: dict[str, Any], expires: datetime | None, created: datetime, seen: datetime
) -> Entry:
    return Entry(data, _epoch(expires), created.timestamp(), seen.timestamp())


def is_live(entry: Entry, now: float, absolute: int | None, idle: int | None) -> bool:
    """Not expired, within the ``absolute`` lifetime, and not ``idle`` for too long."""
    return (
        (entry.expires is None or entry.expires > now)
        and (not absolute or entry.created + absolute > now)
        and (not idle or entry.seen + idle > now)
    )


def _remember(key_hash: str, entry: Entry, now: float, *, replace: bool) -> None:
    """Cache ``entry`` for at most ``CACHE_TIMEOUT``: written through by the engine's own
    writes (``replace``), added by readers (never over a newer value or a revocation)."""
    timeout: float = app_settings.CACHE_TIMEOUT
    if entry.expires:
        timeout = min(timeout, entry.expires - now)
    if replace:
        entry_cache.write_engine_entry(key_hash, tuple(entry), timeout)
    else:
        entry_cache.add_engine_entry(key_hash, tuple(entry), timeout)


def is_web(status: str, provider: str, encoded: str) -> bool:
    """Whether the engine may serve the row: a web session in a writable status."""
    return status in WRITABLE_STATUSES and provider == WEB_PROVIDER and encoded != ""


def may_be_cached(session: Session) -> bool:
    """Whether the engine may hold an entry of this row (a web session, in any status)."""
    return session.provider == WEB_PROVIDER and session.session_data != ""


def web_sessions() -> QuerySet[Session]:
    """The rows the engine may write (and delete): live web sessions."""
    web = Session.objects.filter(not_expired(), status__in=WRITABLE_STATUSES, provider=WEB_PROVIDER)
    return web.exclude(session_data="")


def _foreign(key_hash: str, expires: datetime | None, now: float) -> tuple[str] | None:
    """A live session the engine does not serve (e.g. a conversation in ``X-Session-ID``);
    ``None`` once it has expired (an unknown key)."""
    if expires is not None and expires.timestamp() <= now:
        return None
    timeout: float = app_settings.CACHE_TIMEOUT
    if expires is not None:
        timeout = min(timeout, expires.timestamp() - now)
    entry_cache.add_engine_entry(key_hash, FOREIGN, timeout)
    return FOREIGN


def find(
    key_hash: str, now: float, decode: Callable[[str], dict[str, Any]], *, touch: bool = False
) -> Entry | tuple[str] | None:
    """The live entry of this key, from the cache or the database; never inserts a row.

    ``FOREIGN`` when the key opens a live session that is not the engine's (the
    engine treats it as unknown; the middleware need not tell the client to
    forget it). The cache holds the decoded payload, so a cached read verifies
    no signature. With ``touch``, activity is recorded at most once per
    ``TOUCH_INTERVAL``.
    """
    cached = entry_cache.get_engine_entry(key_hash)
    if type(cached) is tuple and len(cached) == ENTRY_LENGTH:
        entry = Entry._make(cached)
    elif cached == REVOKED:
        return None  # deleted, or its key rotated: never served again
    elif cached == FOREIGN:
        return FOREIGN
    else:
        row = _select(key_hash)
        if row is None:
            return None
        encoded, expires, created, seen, status, provider = row
        if not is_web(status, provider, encoded):
            return _foreign(key_hash, expires, now)
        entry = _entry(decode(encoded), expires, created, seen)
        _remember(key_hash, entry, now, replace=False)
    if not is_live(entry, now, app_settings.ABSOLUTE_TIMEOUT, app_settings.IDLE_TIMEOUT):
        return None
    if touch and now - entry.seen >= app_settings.TOUCH_INTERVAL:
        _update(key_hash, {"last_activity": timezone.now()})
        # Invalidate rather than write back the entry read earlier: a concurrent save may be newer.
        entry_cache.invalidate_engine_entry(key_hash)
    return entry


def _capped_expiry(expires: datetime, created: datetime) -> datetime:
    absolute = app_settings.ABSOLUTE_TIMEOUT
    return min(expires, created + timedelta(seconds=absolute)) if absolute else expires


def _execute(statement: str, params: list[Any], *, may_fail: bool = False) -> int:
    """Run one statement and return its row count.

    A statement that ``may_fail`` (an INSERT that can collide) runs in a
    savepoint when a transaction is open, so its failure does not break it.
    """
    connection = sql.connection_for(Session)
    with connection.cursor() as cursor:
        if may_fail and connection.in_atomic_block:
            with transaction.atomic(using=connection.alias):
                cursor.execute(statement, params)
        else:
            cursor.execute(statement, params)
        count: int = cursor.rowcount
        return count


# The statements are built once per database: building them is most of an ORM call's cost.


@functools.cache
def _select_statement(alias: str) -> tuple[str, list[Any]]:
    connection = connections[alias]
    columns = ", ".join(sql.column(Session, name, connection) for name in SELECT_FIELDS)
    statement = (
        f"SELECT {columns} FROM {Session._meta.db_table} "
        f"WHERE {sql.column(Session, 'key_hash', connection)} = %s "
        f"AND {sql.column(Session, 'status', connection)} <> %s"
    )
    return statement, sql.row_converters(Session, SELECT_FIELDS, connection)


@functools.cache
def _web_condition(alias: str, owned: bool) -> str:
    """The row of a key hash, if the engine may write it (``WEB_PARAMS``, then now);
    with ``owned``, only if it has no owner or the user given last."""
    connection = connections[alias]

    def col(name: str) -> str:
        return sql.column(Session, name, connection)

    statuses = ", ".join(["%s"] * len(WRITABLE_STATUSES))
    condition = (
        f"{col('key_hash')} = %s AND {col('status')} IN ({statuses}) "
        f"AND {col('provider')} = %s AND {col('session_data')} <> %s "
        f"AND ({col('expires_at')} IS NULL OR {col('expires_at')} > %s)"
    )
    if owned:
        condition += f" AND ({col('user')} IS NULL OR {col('user')} = %s)"
    return condition


@functools.cache
def _update_statement(alias: str, names: tuple[str, ...]) -> tuple[str, list[Any]]:
    """The UPDATE of ``names`` and their fields (to prepare the values)."""
    connection = connections[alias]
    sets = ", ".join(f"{sql.column(Session, name, connection)} = %s" for name in names)
    condition = _web_condition(alias, "user_id" in names)
    statement = f"UPDATE {Session._meta.db_table} SET {sets} WHERE {condition}"
    return statement, [Session._meta.get_field(name) for name in names]


@functools.cache
def _insert_statement(alias: str) -> str:
    connection = connections[alias]
    columns, _ = sql.insert_values(Session(), ("sandbox",), connection)
    return (
        f"INSERT INTO {Session._meta.db_table} ({', '.join(columns)}, "
        f"{sql.column(Session, 'sandbox', connection)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}, "
        f"(SELECT {sql.column(Sandbox, 'id', connection)} FROM {Sandbox._meta.db_table} "
        f"WHERE {sql.column(Sandbox, 'slug', connection)} = %s))"
    )


def _select(key_hash: str) -> tuple[Any, ...] | None:
    """``ENTRY_FIELDS`` of the live row with this key hash."""
    connection = sql.connection_for(Session)
    statement, converters = _select_statement(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(statement, [key_hash, SessionStatus.DELETED])
        row = cursor.fetchone()
    return None if row is None else sql.convert_row(row, converters, connection)


def _insert(session: Session) -> bool:
    """One INSERT; the default sandbox's id is a subquery in it: no lookup, never stale."""
    connection = sql.connection_for(Session)
    _, values = sql.insert_values(session, ("sandbox",), connection)
    try:
        _execute(
            _insert_statement(connection.alias),
            [*values, app_settings.DEFAULT_SANDBOX],
            may_fail=True,
        )
    except IntegrityError:
        return False
    return True


def _update(key_hash: str, changes: dict[str, Any]) -> int:
    """One UPDATE of the live web session with this key hash; returns how many rows (0 or 1)."""
    connection = sql.connection_for(Session)
    statement, fields = _update_statement(connection.alias, tuple(changes))
    values = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, changes.values(), strict=True)
    ]
    now = sql.prepare(Session, "expires_at", timezone.now(), connection)
    params = [*values, key_hash, *WEB_PARAMS, now]
    if "user_id" in changes:
        params.append(changes["user_id"])
    return _execute(statement, params)


def create(
    key_hash: str, encoded: str, data: dict[str, Any], expires: datetime, link: dict[str, Any]
) -> Entry | None:
    """Insert a new session; ``None`` when the key hash is taken (the caller picks another)."""
    now = timezone.now()
    session = Session(
        key_hash=key_hash,
        session_data=encoded,
        created_at=now,
        last_activity=now,
        expires_at=_capped_expiry(expires, now),
        **link,
    )
    if not _insert(session):
        # The key hash is taken, or the default sandbox does not exist yet.
        get_or_create_sandbox(app_settings.DEFAULT_SANDBOX)
        return None
    entry = _entry(data, session.expires_at, now, now)
    _remember(key_hash, entry, now.timestamp(), replace=True)
    return entry


def save(
    key_hash: str,
    encoded: str,
    data: dict[str, Any],
    expires: datetime,
    link: dict[str, Any],
    known: Entry | None,
) -> tuple[bool, Entry | None]:
    """Update a live session in one statement: (saved, its new entry when ``known``).

    Not saved when the session no longer exists: a session deleted meanwhile
    (logged out elsewhere) is never brought back.
    """
    now = timezone.now()
    if known is not None:
        expires = _capped_expiry(expires, datetime.fromtimestamp(known.created, tz=now.tzinfo))
    updated = _update(
        key_hash, {"session_data": encoded, "expires_at": expires, "last_activity": now, **link}
    )
    if not updated or known is None:
        entry_cache.invalidate_engine_entry(key_hash)
        return bool(updated), None
    seen = now.timestamp()
    entry = Entry(data, expires.timestamp(), known.created, seen)
    _remember(key_hash, entry, seen, replace=True)
    return True, entry


def rekey(old_hash: str, new_hash: str) -> bool | None:
    """Give a live session a new key; False if the old key is gone, None if the new one is taken.

    The old key's revocation is recorded in the same transaction (see ``revocations``).
    """
    try:
        with transaction.atomic(using=sql.connection_for(Session).alias):
            # A collision rolls this transaction (or savepoint) back: nothing else is in it.
            moved = _update(old_hash, {"key_hash": new_hash})
            if moved:
                revocations.revoke_on_commit(old_hash)
    except IntegrityError:
        return None
    if moved:
        entry_cache.invalidate_engine_entry(old_hash)
    return bool(moved)


def delete(key_hash: str) -> None:
    """Delete the web session of this key; any other row stays as it is."""
    deleted, _ = web_sessions().filter(key_hash=key_hash).delete()
    if not deleted:  # else the post_delete receiver has invalidated every cached view
        entry_cache.invalidate_engine_entry(key_hash)


def clear_expired() -> int:
    return lifecycle.delete_in_batches(lifecycle.expired(Session.objects.all()))
