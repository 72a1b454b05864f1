"""Shared fixtures: services that tests need, skipped with a reason unless REQUIRE_SERVICES=1.

The service detection and ``need()`` live in ``tests/support/services.py``.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches

from tests.support.services import need, require_postgres, require_redis

__all__ = ["need"]


@pytest.fixture
def postgres() -> None:
    require_postgres()


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def manager(db):
    from sessions_app.manager import SessionManager

    return SessionManager("tests")


@pytest.fixture
def conversation(manager):
    return manager.create_session(user_id="alice", provider="mock", model="mock-model")


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

    register_provider("spy", Spy)
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
