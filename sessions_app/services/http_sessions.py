"""HTTP sessions behind ``request.session``: Session rows found by the hash of their key.

The engine caches one small entry per key (``cache.engine_key``): the encoded
payload and the times that decide whether the session is still live. Reads
hit the cache first; writes go to the database, then refresh the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.models import Sandbox, Session, SessionStatus
from sessions_app.services import lifecycle
from sessions_app.services.sandboxes import get_or_create_sandbox

# {"id", "data" (the decoded session dict), "expires", "created", "seen" (epoch seconds)}
Entry = dict[str, Any]
ENTRY_FIELDS = ("pk", "session_data", "expires_at", "created_at", "last_activity")


def _default_sandbox_id() -> Subquery:
    # Resolved inside the INSERT: no extra round trip, and never a stale id.
    return Subquery(Sandbox.objects.filter(slug=app_settings.DEFAULT_SANDBOX).values("pk")[:1])


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def _entry(pk: Any, data: dict[str, Any], expires: Any, created: Any, seen: Any) -> Entry:
    return {
        "id": str(pk),
        "data": data,
        "expires": _epoch(expires),
        "created": _epoch(created),
        "seen": _epoch(seen),
    }


def is_live(entry: Entry, now: float) -> bool:
    """Not expired, within the absolute lifetime, and not idle for too long."""
    absolute, idle = app_settings.ABSOLUTE_TIMEOUT, app_settings.IDLE_TIMEOUT
    return (
        (entry["expires"] is None or entry["expires"] > now)
        and (not absolute or entry["created"] + absolute > now)
        and (not idle or entry["seen"] + idle > now)
    )


def _remember(key_hash: str, entry: Entry, now: float, *, replace: bool) -> None:
    timeout = entry["expires"] - now if entry["expires"] else app_settings.CACHE_TIMEOUT
    store = cache.cache_set if replace else cache.cache_add
    store(cache.engine_key(key_hash), entry, timeout)


def _live_rows(key_hash: str) -> Any:
    return Session.objects.filter(key_hash=key_hash).exclude(status=SessionStatus.DELETED)


def find(key_hash: str, now: float, decode: Callable[[str], dict[str, Any]]) -> Entry | None:
    """The live entry of this key, from the cache or the database; never writes a row.

    The cache holds the decoded payload, so a cached read verifies no signature.
    """
    entry = cache.cache_get(cache.engine_key(key_hash))
    if not isinstance(entry, dict):
        row = next(iter(_live_rows(key_hash).values_list(*ENTRY_FIELDS)[:1]), None)
        if row is None:
            return None
        pk, encoded, *times = row
        entry = _entry(pk, decode(encoded), *times)
        _remember(key_hash, entry, now, replace=False)
    return entry if is_live(entry, now) else None


def touch_if_due(key_hash: str, entry: Entry, now: float) -> None:
    """Record activity at most once per ``TOUCH_INTERVAL``, so most reads write nothing."""
    if now - entry["seen"] < app_settings.TOUCH_INTERVAL:
        return
    _live_rows(key_hash).update(last_activity=timezone.now())
    # Invalidate rather than write back the entry read earlier: a concurrent save may be newer.
    cache.invalidate_engine_entry(key_hash)


def _capped_expiry(expires: datetime, created: datetime) -> datetime:
    absolute = app_settings.ABSOLUTE_TIMEOUT
    return min(expires, created + timedelta(seconds=absolute)) if absolute else expires


def _insert(session: Session) -> bool:
    """One INSERT; a savepoint only inside a transaction, where a failure must not break it."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                session.save(force_insert=True)
        else:
            session.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def create(
    key_hash: str, encoded: str, data: dict[str, Any], expires: datetime, link: dict[str, Any]
) -> Entry | None:
    """Insert a new session; ``None`` when the key hash is taken (the caller picks another)."""
    now = timezone.now()
    session = Session(
        key_hash=key_hash,
        sandbox_id=_default_sandbox_id(),
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
    entry = _entry(session.pk, data, session.expires_at, now, now)
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
        expires = _capped_expiry(expires, datetime.fromtimestamp(known["created"], tz=now.tzinfo))
    updated = _live_rows(key_hash).update(
        session_data=encoded, expires_at=expires, last_activity=now, **link
    )
    if not updated or known is None:
        cache.invalidate_engine_entry(key_hash)
        return bool(updated), None
    entry = {**known, "data": data, "expires": expires.timestamp(), "seen": now.timestamp()}
    _remember(key_hash, entry, now.timestamp(), replace=True)
    return True, entry


def rekey(old_hash: str, new_hash: str) -> bool | None:
    """Give a live session a new key; False if the old key is gone, None if the new one is taken."""
    try:
        with transaction.atomic():
            moved = _live_rows(old_hash).update(key_hash=new_hash)
    except IntegrityError:
        return None
    cache.invalidate_engine_entry(old_hash)
    return bool(moved)


def delete(key_hash: str) -> None:
    deleted, _ = Session.objects.filter(key_hash=key_hash).delete()
    if not deleted:  # else the post_delete receiver has invalidated every cached view
        cache.invalidate_engine_entry(key_hash)


def clear_expired() -> int:
    return lifecycle.delete_in_batches(lifecycle.expired(Session.objects.all()))
