"""Rate counters in a cache that may be unreachable: they fail open.

Throttles and ``RateLimitMiddleware`` are a cost guard, not a security boundary,
so when their cache fails the request goes through uncounted rather than
answering 500, and the database never takes the cache's load. Each process
logs one warning when an outage of a cache alias starts and one line when it
ends, skips that cache for ``RETRY_AFTER`` seconds after each failure (so a
stopped server costs one socket timeout per interval, not one per counter
per request), and counts outages and uncounted requests for ``health/``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

logger = logging.getLogger("sessions_app.cache")

T = TypeVar("T")

RETRY_AFTER = 5.0  # seconds the counters leave a failed cache alone before trying it again


@dataclass
class Outages:
    """What one process saw of one cache alias's outages."""

    alias: str
    outages: int = 0
    not_counted: int = 0
    since: float | None = None  # wall clock time the current outage began
    retry_at: float = 0.0  # monotonic
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def skipping(self) -> bool:
        if self.since is None:  # read without the lock: the common case stays cheap
            return False
        with self.lock:
            if self.since is None or time.monotonic() >= self.retry_at:
                return False
            self.not_counted += 1
            return True

    def failed(self, exc: Exception) -> None:
        with self.lock:
            self.not_counted += 1
            self.retry_at = time.monotonic() + RETRY_AFTER
            if self.since is not None:
                return
            self.since, self.outages = time.time(), self.outages + 1
        logger.warning(
            "Rate limit cache %r failed (%s); requests go through uncounted until it answers.",
            self.alias,
            type(exc).__name__,
        )

    def answered(self) -> None:
        if self.since is None:
            return
        with self.lock:
            since, self.since = self.since, None
        if since is not None:
            logger.warning(
                "Rate limit cache %r answers again after %.0f s; counting resumes.",
                self.alias,
                time.time() - since,
            )

    def report(self) -> dict[str, Any]:
        since = None if self.since is None else datetime.fromtimestamp(self.since, UTC)
        return {
            "outages": self.outages,
            "requests_not_counted": self.not_counted,
            "since": since.isoformat() if since else None,
        }


_by_alias: dict[str, Outages] = {}
_registry_lock = threading.Lock()


def outages_of(alias: str) -> Outages:
    found = _by_alias.get(alias)
    if found is None:
        with _registry_lock:
            found = _by_alias.setdefault(alias, Outages(alias))
    return found


def count_or_none(alias: str, count: Callable[[], T]) -> T | None:
    """``count()``, or ``None`` (let the request through) if the cache fails or recently failed."""
    outages = outages_of(alias)
    if outages.skipping():
        return None
    try:
        result = count()
    except Exception as exc:
        outages.failed(exc)
        return None
    outages.answered()
    return result


def report() -> dict[str, dict[str, Any]]:
    """Per cache alias: outages seen by this process, requests let through, current outage."""
    return {alias: outages.report() for alias, outages in sorted(_by_alias.items())}


def current() -> list[str]:
    """The aliases in an outage now."""
    return sorted(alias for alias, outages in _by_alias.items() if outages.since is not None)


def forget() -> None:
    """Drop what was seen: another configuration is another cache."""
    with _registry_lock:
        _by_alias.clear()
