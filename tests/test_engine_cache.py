"""The engine with a Redis cache: reads from Redis, writes through, and survives outages."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.engine import SessionStore
from sessions_app.manager import SessionManager
from sessions_app.models import Session
from sessions_app.utils.keys import hash_key

pytestmark = pytest.mark.django_db


def new_session(**data) -> SessionStore:
    store = SessionStore()
    store.update(data)
    store.save()
    return store


def test_warm_load_makes_no_database_query(redis_cache):
    key = new_session(visits=3).session_key
    SessionStore(key).load()  # raises the fence (see revocations)
    with CaptureQueriesContext(connection) as queries:
        assert SessionStore(key).load() == {"visits": 3}
        assert SessionStore(key).exists(key)
    assert len(queries) == 0


def test_an_update_is_one_statement_and_reads_back_from_the_cache(redis_cache):
    key = new_session(visits=1).session_key
    store = SessionStore(key)
    store["visits"] += 1
    with CaptureQueriesContext(connection) as queries:
        store.save()
    assert [q["sql"].split()[0] for q in queries] == ["UPDATE"]
    with CaptureQueriesContext(connection) as queries:
        assert SessionStore(key).load() == {"visits": 2}
    assert len(queries) == 0


def test_the_cache_holds_only_the_key_hash(redis_cache, redis_url):
    store = new_session(secret="value")
    client = redis.Redis.from_url(redis_url)
    keys = client.keys("*")
    assert any(hash_key(store.session_key).encode() in k for k in keys)
    assert not any(store.session_key.encode() in k for k in keys)
    assert not any(store.session_key.encode() in (client.get(k) or b"") for k in keys)


@pytest.mark.parametrize(
    "delete",
    [
        lambda key, row: SessionManager().delete_session(row.pk),
        lambda key, row: SessionManager().delete_session(row.pk, hard=True),
        lambda key, row: Session.objects.filter(pk=row.pk).delete(),
        lambda key, row: row.user.delete(),
    ],
    ids=["manager", "manager-hard", "queryset-or-admin", "cascade"],
)
def test_every_delete_path_removes_the_cached_entry(redis_cache, django_user_model, delete):
    user = django_user_model.objects.create_user("ann")
    store = new_session(a=1)
    key = store.session_key
    Session.objects.filter(key_hash=hash_key(key)).update(user=user)
    SessionStore(key).load()  # the entry is cached
    row = Session.objects.get(key_hash=hash_key(key))
    delete(key, row)
    assert SessionStore(key).load() == {}


def run_whole_sequence() -> None:
    store = new_session(step=1)
    key = store.session_key
    assert store.exists(key)
    loaded = SessionStore(key)
    assert loaded.load() == {"step": 1}
    loaded["step"] = 2
    loaded.save()
    loaded.cycle_key()
    loaded.save()
    assert SessionStore(loaded.session_key).load() == {"step": 2}
    assert SessionStore(key).load() == {}
    created = SessionStore()
    created.create()
    created.delete()
    assert not created.exists(created.session_key)
    final_key = loaded.session_key
    loaded.flush()
    assert not Session.objects.filter(key_hash=hash_key(final_key)).exists()


def test_every_operation_works_when_redis_is_down(dead_cache, caplog):
    run_whole_sequence()
    assert any("Session cache" in record.getMessage() for record in caplog.records)


def test_redis_flushed_mid_sequence(redis_cache):
    store = new_session(step=1)
    key = store.session_key
    assert SessionStore(key).load() == {"step": 1}
    redis_cache.clear()
    loaded = SessionStore(key)
    assert loaded.load() == {"step": 1}
    loaded["step"] = 2
    redis_cache.clear()
    loaded.save()
    redis_cache.clear()
    loaded.cycle_key()
    loaded.save()
    redis_cache.clear()
    assert SessionStore(loaded.session_key).load() == {"step": 2}
    run_whole_sequence()


def test_a_read_only_request_with_a_warm_cache(redis_cache, settings, client, monkeypatch):
    """No database query and a single Redis round trip (the entry and the fence)."""
    settings.ROOT_URLCONF = "tests.support.http_urls"
    key = new_session(visits=5).session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get("/read/").json() == {"visits": 5}  # warms the cache
    commands: list[str] = []
    real = redis.Redis.execute_command

    def counting(self, *args, **kwargs):
        commands.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/read/")
    assert response.json() == {"visits": 5}
    assert len(queries) == 0
    assert commands == ["MGET"]


def test_a_save_racing_a_logout_cannot_bring_the_session_back(
    redis_cache, monkeypatch, django_capture_on_commit_callbacks
):
    from sessions_app.services import http_sessions

    key = new_session(user="ann").session_key
    late_request = SessionStore(key)
    late_request["x"] = 1  # loaded before the logout
    real_remember = http_sessions._remember

    def logout_then_remember(*args, **kwargs):
        # The late request's UPDATE has succeeded; the logout lands before its cache write.
        with django_capture_on_commit_callbacks(execute=True):
            SessionStore(key).flush()
        real_remember(*args, **kwargs)

    monkeypatch.setattr(http_sessions, "_remember", logout_then_remember)
    late_request.save()
    monkeypatch.undo()
    assert SessionStore(key).load() == {}
    assert not Session.objects.filter(key_hash=hash_key(key)).exists()


def test_a_logout_while_redis_is_unreachable_is_revoked_once_it_is_back(
    redis_cache, monkeypatch, django_capture_on_commit_callbacks
):
    key = new_session(user="ann").session_key
    assert SessionStore(key).load() == {"user": "ann"}  # cached

    def unreachable(*args, **kwargs):
        raise ConnectionError("Redis is unreachable")

    monkeypatch.setattr(type(redis_cache), "set_many", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        SessionStore(key).flush()
    monkeypatch.undo()
    assert SessionStore(key).load() == {}


def test_entries_live_at_most_cache_timeout(redis_cache, redis_url, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_TIMEOUT": 120}
    key = new_session(a=1).session_key
    client = redis.Redis.from_url(redis_url)
    (entry_key,) = [k for k in client.keys("*") if hash_key(key).encode() in k]
    assert 0 < client.ttl(entry_key) <= 120


def test_cache_and_settings_changes_apply_at_once(redis_cache, redis_url, settings):
    """The engine's copy of the cache's clients and of its settings follows setting_changed."""
    key = new_session(a=1).session_key
    client = redis.Redis.from_url(redis_url)
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {**settings.CACHES["sessions"], "KEY_PREFIX": "moved"},
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_TIMEOUT": 60}
    assert SessionStore(key).load() == {"a": 1}  # a miss under the new prefix: from the database
    (entry_key,) = [k for k in client.keys("moved:*") if hash_key(key).encode() in k]
    assert 0 < client.ttl(entry_key) <= 60
    caches["sessions"].clear()


def test_a_custom_key_function_is_honoured(redis_cache, redis_url, settings):
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {**settings.CACHES["sessions"], "KEY_FUNCTION": "tests.test_engine_cache.key"},
    }
    key = new_session(a=1).session_key
    assert SessionStore(key).load() == {"a": 1}
    client = redis.Redis.from_url(redis_url)
    assert client.exists(f"custom/sessions_app:k:{hash_key(key)}")
    with CaptureQueriesContext(connection) as queries:
        assert SessionStore(key).load() == {"a": 1}
    assert len(queries) == 0
    client.delete(f"custom/sessions_app:k:{hash_key(key)}")


def key(key: str, key_prefix: str, version: int) -> str:
    return f"custom/{key}"


def test_an_interrupted_read_never_answers_the_next_one(redis_cache, monkeypatch):
    """Each thread keeps one connection: a reply left unread must not reach the next GET."""
    from redis.connection import AbstractConnection

    first, second = new_session(who="a").session_key, new_session(who="b").session_key
    assert SessionStore(first).load() == {"who": "a"}

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(AbstractConnection, "read_response", interrupted)
    with pytest.raises(KeyboardInterrupt):
        SessionStore(first).load()  # GET sent, its reply never read
    monkeypatch.undo()
    assert SessionStore(second).load() == {"who": "b"}


def test_threads_read_through_their_own_connections(redis_cache, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from sessions_app.http import revocations

    # The fence stands throughout, so that no thread reads the (in-memory) test database.
    monkeypatch.setattr(revocations, "fence_seconds", lambda timeout: 60.0)
    keys = {new_session(n=n).session_key: n for n in range(20)}
    SessionStore(next(iter(keys))).load()

    def load(key: str) -> int:
        return SessionStore(key).load()["n"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(load, list(keys) * 5)) == list(keys.values()) * 5


def test_a_revocation_another_process_recorded_is_honoured_once_the_fence_lapses(
    redis_cache, monkeypatch, django_capture_on_commit_callbacks
):
    """What a worker that never saw the outage does: its cache still holds the entry."""
    from sessions_app.http.cache_keys import FENCE
    from sessions_app.models import Revocation

    key = new_session(user="ann").session_key
    assert SessionStore(key).load() == {"user": "ann"}  # cached, under a standing fence

    def unreachable(*args, **kwargs):
        raise ConnectionError("Redis is unreachable")

    monkeypatch.setattr(type(redis_cache), "set_many", unreachable)
    monkeypatch.setattr(type(redis_cache), "delete", unreachable)  # the fence stays up too
    with django_capture_on_commit_callbacks(execute=True):
        SessionStore(key).flush()
    monkeypatch.undo()
    assert Revocation.objects.filter(key_hash=hash_key(key)).exists()
    assert redis_cache.get(f"sessions_app:k:{hash_key(key)}") is not None  # the stale entry
    redis_cache.delete(FENCE)  # it lapses: an outage lasts longer than the fence stands
    assert SessionStore(key).load() == {}
    assert not Revocation.objects.exists()
    assert SessionStore(key).load() == {}  # from the cache now: REVOKED
