"""The optional shared cache in front of session lookups.

Every call is guarded: when the cache is down, reads miss, writes are skipped,
a warning is logged and the database answers instead.

Writers of the service layer replace an entry with a short-lived tombstone
instead of deleting it, and readers fill a miss with ``add``: a reader that
loaded the row before a concurrent write can then never put the old row back.
The session engine writes its entries through; deleted and rotated keys are
revoked with a marker of their own, read together with the entry.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from django.core.cache import BaseCache, caches
from django.db import transaction

from sessions_app.conf import app_settings

logger = logging.getLogger("sessions_app.cache")

PREFIX = "sessions_app:s:"  # snapshot by public id (TTL API)
KEY_PREFIX = "sessions_app:k:"  # engine entry by key hash (HTTP sessions)
REVOKED_PREFIX = "sessions_app:r:"  # a key hash that must never be served again
TOMBSTONE = "sessions_app:invalidated"
TOMBSTONE_TIMEOUT = 1  # seconds: covers a reader between its database read and its add
REVOKED = "sessions_app:revoked"  # what get_engine_entry returns for a revoked key
REVOCATION_MARGIN = 60  # seconds a revocation outlives the longest entry


def get_cache() -> BaseCache | None:
    alias = app_settings.CACHE_ALIAS
    return caches[alias] if alias else None


def snapshot_key(session_id: Any) -> str:
    return f"{PREFIX}{session_id}"


def engine_key(key_hash: str) -> str:
    return f"{KEY_PREFIX}{key_hash}"


def revoked_key(key_hash: str) -> str:
    return f"{REVOKED_PREFIX}{key_hash}"


def _guarded(operation: str, call: Any, *args: Any) -> Any:
    cache = get_cache()
    if cache is None:
        return None
    try:
        return getattr(cache, call)(*args)
    except Exception as exc:
        logger.warning("Session cache %s failed, the database answers instead: %s", operation, exc)
        return None


def cache_get(key: str) -> Any:
    """The cached value; ``None`` for a miss, a tombstone or an unreachable cache."""
    alias = app_settings.CACHE_ALIAS
    if alias is None:
        return None
    try:  # inlined (not _guarded): this runs on every request
        value = caches[alias].get(key)
    except Exception as exc:
        logger.warning("Session cache read failed, the database answers instead: %s", exc)
        return None
    return None if value == TOMBSTONE else value


def cache_add(key: str, value: Any, timeout: float | None = None) -> None:
    """Store ``value`` unless the key holds anything (a newer value or a tombstone)."""
    timeout = app_settings.CACHE_TIMEOUT if timeout is None else timeout
    _guarded("write", "add", key, value, max(1, int(timeout)))


def cache_set(key: str, value: Any, timeout: float) -> None:
    _guarded("write", "set", key, value, max(1, int(timeout)))


def _tombstone(keys: list[str]) -> None:
    if keys:
        _guarded("invalidation", "set_many", dict.fromkeys(keys, TOMBSTONE), TOMBSTONE_TIMEOUT)


def invalidate(*sessions: Any) -> None:
    """Forget every cached view of these sessions (objects with ``pk`` and ``key_hash``)."""
    _tombstone(
        [snapshot_key(s.pk) for s in sessions]
        + [engine_key(s.key_hash) for s in sessions if s.key_hash]
    )


def invalidate_snapshot(session_id: Any) -> None:
    _tombstone([snapshot_key(session_id)])


def invalidate_engine_entry(key_hash: str) -> None:
    _tombstone([engine_key(key_hash)])


# Revocations that could not be written (cache unreachable), retried by this process.
_pending_revocations: deque[str] = deque(maxlen=10_000)


def get_engine_entry(key_hash: str) -> Any:
    """The engine's cached entry of a key hash, ``REVOKED``, or ``None`` (one round trip)."""
    alias = app_settings.CACHE_ALIAS
    if alias is None:
        return None
    if _pending_revocations and not _retry_revocations():
        return None  # still unreachable, or a revoked key could be served: ask the database
    entry_key, revoked = engine_key(key_hash), revoked_key(key_hash)
    try:
        values = caches[alias].get_many([entry_key, revoked])
    except Exception as exc:
        logger.warning("Session cache read failed, the database answers instead: %s", exc)
        return None
    if values.get(revoked):
        return REVOKED
    entry = values.get(entry_key)
    return None if entry == TOMBSTONE else entry


def revoke(*key_hashes: str) -> None:
    """Never serve these keys from the cache again (deleted sessions, rotated keys).

    A revocation is a key of its own, so a concurrent save that writes the
    entry back cannot undo it; it outlives any entry (``CACHE_TIMEOUT``).
    """
    keys = [revoked_key(h) for h in key_hashes if h]
    if keys and not _write_revocations(keys):
        _pending_revocations.extend(keys)


def revoke_on_commit(*key_hashes: str) -> None:
    """Revoke once the deletion commits (at once outside a transaction): a rollback
    must not end a session that still exists."""
    transaction.on_commit(lambda: revoke(*key_hashes))


def _write_revocations(keys: list[str]) -> bool:
    cache = get_cache()
    if cache is None:
        return True
    try:
        cache.set_many(dict.fromkeys(keys, 1), app_settings.CACHE_TIMEOUT + REVOCATION_MARGIN)
    except Exception as exc:
        logger.warning("Session cache revocation failed, retried later: %s", exc)
        return False
    return True


def _retry_revocations() -> bool:
    keys = list(_pending_revocations)
    _pending_revocations.clear()
    if _write_revocations(keys):
        return True
    _pending_revocations.extend(keys)
    return False
