"""The TTL manager document's low-level API: ``factory_for_env()`` and key/value sessions.

``async with factory_for_env()() as session: await session.setex(key, ttl, value)``
stores in the Django cache named by ``SESSIONS_APP["CACHE_ALIAS"]`` (``default``
when unset): the document's ``SESSION_PROVIDER=redis`` is django-redis behind
that alias, and ``memory`` is whatever that cache is. There is no second store.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Any

from django.core.cache import BaseCache, caches

from sessions_app.conf import app_settings
from sessions_app.exceptions import ConfigurationError, StorageError, ValidationError

# SESSION_PROVIDER values, with the document's alternative names.
PROVIDERS = {"memory": "memory", "mem": "memory", "inmemory": "memory"} | {
    "redis": "redis",
    "redis_store": "redis",
}
KEY_PREFIX = "sessions_app:kv:"


class CacheSession:
    """Strings under keys with a time to live, in the configured Django cache."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    async def __aenter__(self) -> CacheSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def setex(self, key: str, ttl: int, value: str) -> bool:
        """Store ``value`` under ``key`` for ``ttl`` seconds (at least one)."""
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
            raise ValidationError("ttl must be a whole number of seconds >= 1.")
        try:
            await self.cache.aset(_cache_key(key), value, timeout=ttl)
        except Exception as exc:
            raise StorageError(f"The cache refused the write: {type(exc).__name__}") from exc
        return True

    async def get(self, key: str) -> Any:
        """The value, or ``None`` when absent or expired."""
        try:
            return await self.cache.aget(_cache_key(key))
        except Exception as exc:
            raise StorageError(f"The cache refused the read: {type(exc).__name__}") from exc

    async def delete(self, key: str) -> bool:
        """True when something was deleted."""
        try:
            return bool(await self.cache.adelete(_cache_key(key)))
        except Exception as exc:
            raise StorageError(f"The cache refused the delete: {type(exc).__name__}") from exc

    async def close(self) -> None:
        """Connections belong to the cache backend, shared by the process: nothing to do."""


def _cache_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise ValidationError("key must be a non-empty string.")
    return KEY_PREFIX + key


def factory_for_env() -> Callable[[], CacheSession]:
    """A factory of key/value sessions; ``SESSION_PROVIDER`` (memory or redis) is checked."""
    provider = PROVIDERS.get(os.environ.get("SESSION_PROVIDER", "memory").strip().lower())
    if provider is None:
        raise ConfigurationError(
            f"SESSION_PROVIDER must be one of {', '.join(PROVIDERS)}; the cache behind "
            "SESSIONS_APP['CACHE_ALIAS'] is used either way."
        )
    alias = app_settings.CACHE_ALIAS or "default"
    cache = caches[alias]
    if provider == "redis" and "redis" not in type(cache).__module__:
        raise ConfigurationError(
            f"SESSION_PROVIDER=redis, but the cache {alias!r} is {type(cache).__name__}; "
            "point SESSIONS_APP['CACHE_ALIAS'] at a django-redis cache."
        )
    return lambda: CacheSession(cache)
