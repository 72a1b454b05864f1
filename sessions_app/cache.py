"""The optional shared cache in front of session lookups.

Every call is guarded: when the cache is down, reads miss, writes are skipped,
a warning is logged and the database answers instead.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import BaseCache, caches

from sessions_app.conf import app_settings

logger = logging.getLogger("sessions_app.cache")

PREFIX = "sessions_app:s:"


def get_cache() -> BaseCache | None:
    alias = app_settings.CACHE_ALIAS
    return caches[alias] if alias else None


def snapshot_key(session_id: Any) -> str:
    return f"{PREFIX}{session_id}"


def cache_get(key: str) -> Any:
    cache = get_cache()
    if cache is None:
        return None
    try:
        return cache.get(key)
    except Exception as exc:
        logger.warning("Session cache read failed, using the database: %s", exc)
        return None


def cache_set(key: str, value: Any, timeout: float | None = None) -> None:
    cache = get_cache()
    if cache is None:
        return
    timeout = app_settings.CACHE_TIMEOUT if timeout is None else timeout
    try:
        cache.set(key, value, max(1, int(timeout)))
    except Exception as exc:
        logger.warning("Session cache write failed: %s", exc)


def cache_delete_many(keys: list[str]) -> None:
    cache = get_cache()
    if cache is None or not keys:
        return
    try:
        cache.delete_many(keys)
    except Exception as exc:
        logger.warning("Session cache delete failed: %s", exc)


def invalidate(*session_ids: Any) -> None:
    cache_delete_many([snapshot_key(sid) for sid in session_ids])
