"""The engine's path to the cache: one entry per key hash, read and written per request.

With django-redis the two hot calls (a load's ``GET``, a save's ``SET … GET``)
go to django-redis's clients directly, with the same keys and values as the
cache API but without its per-call overhead; any other cache goes through the
cache API. Every call is guarded like ``sessions_app.cache``'s: a failure is
logged and the database answers.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import redis
from django.core.cache import BaseCache, caches
from django.core.cache.backends.base import default_key_func
from django_redis.compressors.identity import IdentityCompressor
from django_redis.serializers.pickle import PickleSerializer

from sessions_app.cache import TOMBSTONE, cache_add, tombstone
from sessions_app.conf import app_settings
from sessions_app.http import revocations
from sessions_app.http.cache_keys import FENCE, KEY_PREFIX, REVOKED, engine_key

logger = logging.getLogger("sessions_app.cache")


class _EngineRedis(NamedTuple):
    """django-redis's clients of the engine's cache, and how that cache codes keys and values.

    The API's overhead avoided: ``caches[]`` is a context-local lookup, and the
    API decodes every value with a failed ``int()`` first. Built once per cache
    alias; ``forget_engine_redis`` (on a change of ``CACHES`` or ``SESSIONS_APP``)
    drops it. django-redis's clients are thread-safe and share one connection
    pool per server, so one copy serves every thread.
    """

    client: Any  # django-redis's client
    # With one server and redis-py's own classes: its pool, from which each thread keeps
    # one connection (see _thread_redis); else None, and django-redis picks the client.
    pool: Any
    key_prefix: str  # the raw key of an entry is key_prefix + key_hash
    fence_key: str  # the raw key of the fence (see revocations)
    fence_ms: int  # how long the fence stands
    revoked: bytes  # REVOKED and TOMBSTONE as stored
    tombstone: bytes
    loads: Callable[[bytes], Any]
    dumps: Callable[[Any], bytes]


_NOT_REDIS = "not django-redis"
_engine_redis: dict[str, _EngineRedis | str] = {}


def _build_engine_redis(cache: BaseCache) -> _EngineRedis | str:
    client = getattr(cache, "client", None)
    if not type(cache).__module__.startswith("django_redis") or client is None:
        return _NOT_REDIS
    write = client.get_client(write=True)
    plain_redis = type(write) is redis.Redis and type(write.connection_pool) is redis.ConnectionPool
    single = len(getattr(client, "_server", ())) == 1 and plain_redis
    if cache.key_func is default_key_func:
        key_prefix = f"{cache.key_prefix}:{cache.version}:{KEY_PREFIX}"
    else:
        key_prefix = ""
    plain = isinstance(getattr(client, "_serializer", None), PickleSerializer) and isinstance(
        getattr(client, "_compressor", None), IdentityCompressor
    )
    socket_timeout = write.connection_pool.connection_kwargs.get("socket_timeout")
    return _EngineRedis(
        client=client,
        pool=write.connection_pool if single else None,
        key_prefix=key_prefix,
        fence_key=str(client.make_key(FENCE)),
        fence_ms=int(revocations.fence_seconds(socket_timeout) * 1000),
        revoked=client.encode(REVOKED),
        tombstone=client.encode(TOMBSTONE),
        loads=pickle.loads if plain else client.decode,
        dumps=client._serializer.dumps if plain else client.encode,
    )


def _engine_cache() -> tuple[BaseCache | None, _EngineRedis | None]:
    """The engine's cache and, for django-redis, its clients (then the cache is not looked up)."""
    alias = app_settings.CACHE_ALIAS
    if alias is None:
        return None, None
    handle = _engine_redis.get(alias)
    if isinstance(handle, _EngineRedis):
        return None, handle
    cache = caches[alias]
    if handle is None:
        handle = _engine_redis[alias] = _build_engine_redis(cache)
    return cache, handle if isinstance(handle, _EngineRedis) else None


def _raw_key(handle: _EngineRedis, key_hash: str) -> str:
    if handle.key_prefix:
        return handle.key_prefix + key_hash
    key: str = handle.client.make_key(engine_key(key_hash))
    return key


_thread = threading.local()


def _thread_redis(handle: _EngineRedis, *, write: bool) -> Any:
    """This thread's client of the engine's Redis, holding one connection of the pool.

    A pooled call checks a connection out and back in (with a liveness poll and
    bookkeeping): as much Python as the rest of a warm load. The connection goes
    back to the pool when the thread ends or the configuration changes; a forked
    child makes its own.
    """
    if handle.pool is None:
        return handle.client.get_client(write=write)
    held, pid = getattr(_thread, "held", None), os.getpid()
    if held is None or held[0] is not handle or held[1] != pid:
        _thread.held = None  # releases the previous connection first
        client = redis.Redis(connection_pool=handle.pool, single_connection_client=True)
        held = _thread.held = (handle, pid, client)
    return held[2]


def _drop_thread_redis() -> None:
    """Disconnect this thread's connection after a failed or interrupted call: a reply
    left unread must never answer the next command."""
    held = _thread.__dict__.pop("held", None)
    if held is not None and held[2].connection is not None:
        held[2].connection.disconnect()


def forget_engine_redis() -> None:
    """Drop the engine's clients (``CACHES`` or ``SESSIONS_APP`` changed)."""
    _engine_redis.clear()


def get_engine_entry(key_hash: str) -> Any:
    """The engine's cached entry of a key hash, ``REVOKED``, or ``None``.

    One round trip: the entry and the fence (``MGET``). Under a lapsed fence the
    entry is not trusted: the recorded revocations are written first, and this
    read answers ``None`` (the database answers).
    """
    try:
        cache, handle = _engine_cache()
        if handle is not None:
            connection = _thread_redis(handle, write=False)
            raw, fence = connection.mget(_raw_key(handle, key_hash), handle.fence_key)
            if fence is None:
                _settle(cache, handle)
                return None
            if raw is None or raw == handle.tombstone:
                return None
            return REVOKED if raw == handle.revoked else handle.loads(raw)
        if cache is None:
            return None
        entry_key = engine_key(key_hash)
        values = cache.get_many([entry_key, FENCE])
        if FENCE not in values:
            _settle(cache, handle)
            return None
        value = values.get(entry_key)
    except Exception as exc:
        _drop_thread_redis()
        logger.warning("Session cache read failed, the database answers instead: %s", exc)
        return None
    except BaseException:
        _drop_thread_redis()
        raise
    return None if value == TOMBSTONE else value


def _settle(cache: BaseCache | None, handle: _EngineRedis | None) -> None:
    """Write the recorded revocations, then raise the fence until ``fence_seconds`` after
    the database was read. The expiry is absolute and in Redis's own clock (read before
    the database): a write delayed by an outage cannot extend it, and the clocks of the
    application's hosts do not matter."""
    if handle is None:
        checked = revocations.settle()
        remaining = None if checked is None else checked + revocations.FENCE_MAX - time.time()
        if cache is not None and remaining is not None and remaining > 0:
            cache.set(FENCE, 1, remaining)
        return
    connection = _thread_redis(handle, write=True)
    seconds, microseconds = connection.time()
    if revocations.settle() is not None:
        until = seconds * 1000 + microseconds // 1000 + handle.fence_ms
        connection.set(handle.fence_key, b"1", pxat=until)


def add_engine_entry(key_hash: str, entry: Any, timeout: float) -> None:
    """Fill a miss: never replaces a newer entry, a tombstone or a revocation."""
    cache_add(engine_key(key_hash), entry, timeout)


def write_engine_entry(key_hash: str, entry: Any, timeout: float) -> None:
    """Write an entry through, never replacing a revocation.

    With django-redis the write is ``SET … GET``, which returns what it
    replaced in the same round trip; if that was a revocation (a logout that
    landed between our database write and this one), it is put back at once.
    Other caches check first, which leaves a narrow window.
    """
    timeout = max(1, int(timeout))
    try:
        cache, handle = _engine_cache()
        if handle is not None:
            connection, raw_key = _thread_redis(handle, write=True), _raw_key(handle, key_hash)
            old = connection.set(raw_key, handle.dumps(entry), ex=timeout, get=True)
            if old == handle.revoked:
                connection.set(raw_key, handle.revoked, ex=revocations.revocation_timeout())
        elif cache is not None and cache.get(engine_key(key_hash)) != REVOKED:
            cache.set(engine_key(key_hash), entry, timeout)
    except Exception as exc:
        _drop_thread_redis()
        logger.warning("Session cache write failed: %s", exc)
    except BaseException:
        _drop_thread_redis()
        raise


def invalidate_engine_entry(key_hash: str) -> None:
    tombstone([engine_key(key_hash)])
