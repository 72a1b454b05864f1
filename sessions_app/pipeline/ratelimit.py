"""Per-session rate limit on incoming messages, counted in a Django cache."""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from collections.abc import Callable

from django.core.cache import BaseCache, InvalidCacheBackendError, caches
from django.core.cache.backends.locmem import LocMemCache

from sessions_app import cache_outages
from sessions_app.conf import app_settings
from sessions_app.exceptions import ConfigurationError, RateLimitExceeded
from sessions_app.pipeline.base import MessageMiddleware, PipelineMessage

_SAFE_KEY_PART = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# add() then incr() can lose the key to expiry in between; retry that many times.
_ATTEMPTS = 3
_LOCAL_MAX_ENTRIES = 100_000
DEFAULT_MAX_MESSAGES = 60  # per DEFAULT_PERIOD: the documents' 60 messages a minute
DEFAULT_PERIOD = 60


class RateLimitMiddleware(MessageMiddleware):
    """At most ``max_messages`` incoming messages per session in each ``period`` seconds
    (60 a minute by default, as in the documents).

    Fixed windows aligned on the clock (``int(now // period)``), counted with an
    atomic ``cache.add`` + ``cache.incr`` in:

    - the cache named ``cache_alias``, else
    - the cache named by ``SESSIONS_APP["CACHE_ALIAS"]``, else
    - a private in-process ``LocMemCache`` (the limit then holds per process only).

    With django-redis behind the alias the limit holds across processes and
    machines (whose clocks are assumed to agree to within a fraction of a period).
    Over the limit it raises :class:`RateLimitExceeded` with ``retry_after`` the
    seconds left in the window. Outgoing messages (provider replies) are not counted.

    Fails open: when the cache backend raises (e.g. Redis is down) the message
    goes through uncounted — an outage of the cache must not stop conversations.
    One warning is logged per outage, counted in ``health/`` (see
    ``sessions_app.cache_outages``).

    ``messages_per_minute=N`` (the documents' form) means ``max_messages=N, period=60``.
    """

    def __init__(
        self,
        max_messages: int | None = None,
        period: float = DEFAULT_PERIOD,
        cache_alias: str | None = None,
        *,
        messages_per_minute: int | None = None,
        key_prefix: str = "sessions_app:ratelimit",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if messages_per_minute is not None:
            if max_messages is not None or period != DEFAULT_PERIOD:
                raise ConfigurationError(
                    "RateLimitMiddleware takes messages_per_minute or max_messages/period, "
                    "not both."
                )
            max_messages = messages_per_minute
        elif max_messages is None:
            max_messages = DEFAULT_MAX_MESSAGES
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ConfigurationError("RateLimitMiddleware needs an integer max_messages >= 1.")
        if isinstance(period, bool) or not isinstance(period, int | float) or not period > 0:
            raise ConfigurationError("RateLimitMiddleware needs a period > 0 seconds.")
        self.max_messages = max_messages
        self.period = period
        self.cache_alias = cache_alias
        self.key_prefix = key_prefix
        self.clock = clock
        # A unique name: LocMemCache instances with the same name share storage. Its default
        # MAX_ENTRIES (300) would cull live counters (it evicts the newest keys) once
        # stale windows pile up, so allow far more.
        self._local_cache = LocMemCache(
            f"sessions_app-ratelimit-{uuid.uuid4().hex}",
            {"OPTIONS": {"MAX_ENTRIES": _LOCAL_MAX_ENTRIES}},
        )

    @property
    def messages_per_minute(self) -> float:
        return self.max_messages * 60 / self.period

    def process_incoming(self, message: PipelineMessage) -> PipelineMessage:
        now = self.clock()
        window = int(now // self.period)
        seconds_left = (window + 1) * self.period - now
        count = self._count(self._key(message.session_id, window), seconds_left)
        if count is not None and count > self.max_messages:
            raise RateLimitExceeded(
                f"More than {self.max_messages} messages in {self.period:g} seconds; "
                f"try again in {math.ceil(seconds_left)} seconds.",
                retry_after=seconds_left,
                session_id=message.session_id,
                details={"limit": self.max_messages, "period": self.period},
            )
        return message

    def _count(self, key: str, seconds_left: float) -> int | None:
        """This message's number in its window, or ``None`` when the cache failed."""
        cache, alias = self._cache()
        if alias is None:
            return self._hit(cache, key, seconds_left)
        return cache_outages.count_or_none(alias, lambda: self._hit(cache, key, seconds_left))

    @staticmethod
    def _hit(cache: BaseCache, key: str, seconds_left: float) -> int:
        # One second of slack so the key outlives its window even with a little clock skew.
        timeout = seconds_left + 1
        for _ in range(_ATTEMPTS - 1):
            cache.add(key, 0, timeout)
            try:
                return cache.incr(key)
            except ValueError:
                continue  # the key expired between add() and incr(): start it again
        cache.add(key, 0, timeout)
        return cache.incr(key)

    def _key(self, session_id: str, window: int) -> str:
        part = str(session_id)
        if not _SAFE_KEY_PART.fullmatch(part):
            # Memcached rejects spaces, control characters and long keys.
            part = hashlib.sha256(part.encode()).hexdigest()
        return f"{self.key_prefix}:{self.period:g}:{window}:{part}"

    def _cache(self) -> tuple[BaseCache, str | None]:
        # Looked up per call: Django's cache handles are per thread, and settings may change.
        alias = self.cache_alias if self.cache_alias is not None else app_settings.CACHE_ALIAS
        if alias is None:
            return self._local_cache, None
        try:
            return caches[alias], alias
        except InvalidCacheBackendError as exc:
            raise ConfigurationError(f"RateLimitMiddleware: unknown cache {alias!r}.") from exc
