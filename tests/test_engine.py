"""``SESSION_ENGINE = "sessions_app.engine"``: Django's session contract, on Session rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends.base import UpdateError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.engine import SessionStore
from sessions_app.http import entry_cache
from sessions_app.models import Session
from sessions_app.utils.keys import hash_key

pytestmark = pytest.mark.django_db


def stored(key: str) -> Session | None:
    return Session.objects.filter(key_hash=hash_key(key)).first()


def backdate(key: str, **fields) -> None:
    """Change stored times as if time had passed (the cache entry goes too, as it would expire)."""
    Session.objects.filter(key_hash=hash_key(key)).update(**fields)
    entry_cache.invalidate_engine_entry(hash_key(key))


def new_session(**data) -> SessionStore:
    store = SessionStore()
    store.update(data)
    store.save()
    return store


def test_round_trip_and_key_hashed_at_rest():
    store = new_session(visits=1, name="ann")
    key = store.session_key
    row = stored(key)
    assert row is not None and row.key_hash == hash_key(key)
    assert key not in str(Session.objects.filter(pk=row.pk).values().get())
    assert SessionStore(key).load() == {"visits": 1, "name": "ann"}


def test_loading_an_unknown_key_never_writes_or_adopts_it():
    unknown = "a" * 32
    store = SessionStore(unknown)
    with CaptureQueriesContext(connection) as queries:
        assert store.load() == {}
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries)
    assert store.session_key is None
    store["x"] = 1
    store.save()
    assert store.session_key != unknown
    assert stored(unknown) is None and Session.objects.count() == 1


@pytest.mark.parametrize(
    "key", ["", "short", "1234567", "UPPERCASE-KEY-1234", "ключключключ", "a" * 129, None, 12345678]
)
def test_short_keys_are_rejected(key):
    assert SessionStore(key).session_key is None


def test_a_deleted_session_is_not_resurrected_by_a_later_save():
    key = new_session(user="ann").session_key
    request_a, request_b = SessionStore(key), SessionStore(key)
    assert request_a["user"] == request_b["user"] == "ann"  # both requests read the session
    request_b.flush()  # logout in one request
    request_a["late"] = True
    with pytest.raises(UpdateError):
        request_a.save()  # a concurrent request saving afterwards
    assert Session.objects.count() == 0


def test_exists():
    store = new_session(a=1)
    assert store.exists(store.session_key)
    assert not store.exists("b" * 32)
    assert not store.exists(None)


def test_expiry_follows_set_expiry_and_cookie_age(settings):
    settings.SESSION_COOKIE_AGE = 600
    store = new_session(a=1)
    assert store.get_expiry_age() == 600
    row_expiry = stored(store.session_key).expires_at
    assert abs((row_expiry - timezone.now()).total_seconds() - 600) < 5

    store.set_expiry(60)
    store.save()
    assert abs((stored(store.session_key).expires_at - timezone.now()).total_seconds() - 60) < 5

    moment = timezone.now() + timedelta(hours=2)
    store.set_expiry(moment)
    store.save()
    assert store.get_expiry_date() == moment
    assert abs((stored(store.session_key).expires_at - moment).total_seconds()) < 1

    store.set_expiry(0)
    store.save()
    assert store.get_expire_at_browser_close()
    assert SessionStore(store.session_key).get_expire_at_browser_close()


def test_expired_sessions_do_not_load():
    store = new_session(a=1)
    backdate(store.session_key, expires_at=timezone.now() - timedelta(seconds=1))
    fresh = SessionStore(store.session_key)
    assert fresh.load() == {} and fresh.session_key is None


def test_cycle_key_keeps_data_and_the_row():
    store = new_session(cart=[1, 2])
    old_key, row_id = store.session_key, stored(store.session_key).pk
    store.cycle_key()
    assert store.session_key != old_key
    assert store["cart"] == [1, 2]
    store.save()
    assert stored(old_key) is None
    assert stored(store.session_key).pk == row_id
    assert SessionStore(store.session_key).load() == {"cart": [1, 2]}
    assert SessionStore(old_key).load() == {}


def test_cycle_key_of_a_new_session_creates_one():
    store = SessionStore()
    store["a"] = 1
    store.cycle_key()
    store.save()
    assert SessionStore(store.session_key).load() == {"a": 1}


def test_flush_deletes_and_forgets_the_key():
    store = new_session(a=1)
    key = store.session_key
    store.flush()
    assert store.session_key is None and stored(key) is None


def test_clear_expired_deletes_in_batches(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CLEANUP_BATCH_SIZE": 2}
    keep = new_session(a=1).session_key
    for _ in range(5):
        key = new_session(a=1).session_key
        backdate(key, expires_at=timezone.now() - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as queries:
        call_command("clearsessions")
    deletes = [q for q in queries if q["sql"].startswith('DELETE FROM "sessions_app_session"')]
    assert len(deletes) == 3
    assert list(Session.objects.values_list("key_hash", flat=True)) == [hash_key(keep)]


def test_idle_and_absolute_timeouts(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "IDLE_TIMEOUT": 300, "ABSOLUTE_TIMEOUT": 3600}
    idle = new_session(a=1).session_key
    backdate(idle, last_activity=timezone.now() - timedelta(seconds=301))
    assert SessionStore(idle).load() == {}
    old = new_session(a=1).session_key
    backdate(old, created_at=timezone.now() - timedelta(seconds=3601))
    assert SessionStore(old).load() == {}
    young = new_session(a=1)
    assert stored(young.session_key).expires_at <= timezone.now() + timedelta(seconds=3600)


def test_reads_touch_activity_at_most_once_per_interval(settings):
    key = new_session(a=1).session_key
    earlier = timezone.now() - timedelta(minutes=5)
    backdate(key, last_activity=earlier)
    SessionStore(key).load()
    touched = stored(key).last_activity
    assert touched > earlier
    with CaptureQueriesContext(connection) as queries:
        SessionStore(key).load()
    assert not any(q["sql"].startswith("UPDATE") for q in queries)
    assert stored(key).last_activity == touched


def test_async_twins():
    async def scenario():
        store = SessionStore()
        await store.aset("a", 1)
        await store.asave()
        key = store.session_key
        loaded = SessionStore(key)
        data = await loaded.aload()
        exists = await loaded.aexists(key)
        await loaded.acycle_key()
        await loaded.asave()
        new_key = loaded.session_key
        created = SessionStore()
        await created.acreate()
        await created.adelete()
        await loaded.aflush()
        await SessionStore.aclear_expired()
        return key, data, exists, new_key, created.session_key

    key, data, exists, new_key, created_key = async_to_sync(scenario)()
    assert data == {"a": 1} and exists and new_key != key
    assert stored(key) is None and stored(new_key) is None and stored(created_key) is None
