"""The optional shared cache in front of session lookups.

Every call is guarded: when the cache is down, reads miss, writes are skipped,
a warning is logged and the database answers instead.

Writers of the service layer replace an entry with a short-lived tombstone
instead of deleting it, and readers fill a miss with ``add``: a reader that
loaded the row before a concurrent write can then never put the old row back.
The HTTP session engine's own path to this cache is ``sessions_app.http.entry_cache``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import BaseCache, caches

from sessions_app.conf import app_settings
from sessions_app.http.cache_keys import engine_key

logger = logging.getLogger("sessions_app.cache")

PREFIX = "sessions_app:s:"  # snapshot by public id (TTL API)
TOMBSTONE = "sessions_app:invalidated"
TOMBSTONE_TIMEOUT = 1  # seconds: covers a reader between its database read and its add


def get_cache() -> BaseCache | None:
    alias = app_settings.CACHE_ALIAS
    return caches[alias] if alias else None


def snapshot_key(session_id: Any) -> str:
    return f"{PREFIX}{session_id}"


def _guarded(operation: str, call: str, *args: Any) -> Any:
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


def tombstone(keys: list[str]) -> None:
    """Replace these entries with a tombstone (see the module's docstring)."""
    if keys:
        _guarded("invalidation", "set_many", dict.fromkeys(keys, TOMBSTONE), TOMBSTONE_TIMEOUT)


def invalidate(*sessions: Any) -> None:
    """Forget every cached view of these sessions (objects with ``pk`` and ``key_hash``)."""
    tombstone(
        [snapshot_key(s.pk) for s in sessions]
        + [engine_key(s.key_hash) for s in sessions if s.key_hash]
    )


def invalidate_snapshot(session_id: Any) -> None:
    tombstone([snapshot_key(session_id)])
