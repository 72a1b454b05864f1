"""Shared fixtures: services that tests need, skipped with a reason unless REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.cache import caches
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def need(reason: str) -> None:
    """Skip the test for a missing service, or fail it when services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        need("needs PostgreSQL as the Django database (set DATABASE_URL=postgres://…)")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        need(f"needs Redis at {REDIS_URL} ({exc})")
    return REDIS_URL


@pytest.fixture
def manager(db):
    from sessions_app.manager import SessionManager

    return SessionManager("tests")


@pytest.fixture
def conversation(manager):
    return manager.create_session(user_id="alice", provider="mock", model="mock-1")


@pytest.fixture
def spy_requests():
    """Registers provider "spy" (the mock) and returns the list of requests it receives."""
    from sessions_app.providers import register_provider, unregister_provider
    from sessions_app.providers.mock import MockProvider

    seen: list = []

    class Spy(MockProvider):
        def complete(self, request):  # type: ignore[no-untyped-def]
            seen.append(request)
            return super().complete(request)

    register_provider("spy", Spy, DEFAULT_MODEL="mock-1")
    yield seen
    unregister_provider("spy")


@pytest.fixture
def redis_cache(settings, redis_url):
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        },
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": "sessions"}
    yield caches["sessions"]
    caches["sessions"].clear()


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": "sessions"}
