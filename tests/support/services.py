"""Which services (PostgreSQL, Redis) the tests can use, and how a test without one ends.

A test that needs a missing service is skipped with the reason, or fails when
``REQUIRE_SERVICES=1`` (as in CI). The fixtures in ``tests/conftest.py`` use
these; other modules import ``need`` from here.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def need(reason: str) -> None:
    """Skip the test for a missing service, or fail it when services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def require_postgres() -> None:
    """Go on only when the Django database is PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        need("needs PostgreSQL as the Django database (set DATABASE_URL=postgres://…)")


def require_redis(url: str = REDIS_URL) -> str:
    """``url`` if a Redis server answers there."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        need(f"needs Redis at {url} ({exc})")
    return url
