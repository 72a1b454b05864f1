"""The shared Redis cache in front of TTL lookups: hits, invalidation, outages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app.cache import snapshot_key
from sessions_app.manager import SessionManager
from sessions_app.models import Session

pytestmark = pytest.mark.django_db


def test_warm_validate_needs_no_database_query(manager, redis_cache):
    session_id = manager.allocate_session(user_id="u")
    assert manager.validate_session(session_id)
    assert redis_cache.get(snapshot_key(session_id)) is not None
    with CaptureQueriesContext(connection) as queries:
        assert manager.validate_session(session_id)
        assert manager.get_session_info(session_id)["user_id"] == "u"
    assert len(queries) == 0


def test_every_write_invalidates_the_cached_snapshot(manager, redis_cache):
    session_id = manager.allocate_session(custom_metadata={"v": 1})
    assert manager.get_session_info(session_id)["custom_metadata"] == {"v": 1}
    manager.update_session_metadata(session_id, {"v": 2})
    assert manager.get_session_info(session_id)["custom_metadata"] == {"v": 2}
    before = manager.get_session_info(session_id)["expires_at"]
    manager.extend_session_ttl(session_id, 1)
    assert manager.get_session_info(session_id)["expires_at"] > before
    manager.delete_session(session_id)
    assert manager.validate_session(session_id) is False
    assert manager.get_session_info(session_id) is None


def test_cached_snapshot_is_scoped_to_its_sandbox(manager, redis_cache):
    session_id = manager.allocate_session()
    assert manager.validate_session(session_id)  # warms the cache
    assert SessionManager("elsewhere").validate_session(session_id) is False
    assert SessionManager("elsewhere").get_session_info(session_id) is None


def test_archive_and_cleanup_invalidate(manager, redis_cache):
    conversation = manager.create_session()
    assert manager.validate_session(conversation.session_id)
    conversation.archive()
    assert manager.get_session_info(conversation.session_id)["status"] == "archived"
    assert manager.cleanup_inactive_sessions(days=0) == 1
    assert manager.validate_session(conversation.session_id) is False


def test_redis_down_falls_back_to_the_database(manager, dead_cache, caplog):
    session_id = manager.allocate_session(custom_metadata={"a": 1})
    assert manager.validate_session(session_id)
    assert manager.update_session_metadata(session_id, {"b": 2})
    assert manager.get_session_info(session_id)["custom_metadata"] == {"a": 1, "b": 2}
    assert manager.delete_session(session_id)
    assert manager.validate_session(session_id) is False
    assert any("Session cache" in r.getMessage() for r in caplog.records)


def test_redis_flushed_mid_sequence(manager, redis_cache):
    session_id = manager.allocate_session(custom_metadata={"a": 1})
    assert manager.validate_session(session_id)
    redis_cache.clear()
    assert manager.get_session_info(session_id)["custom_metadata"] == {"a": 1}
    assert manager.validate_session(session_id)


def test_deletes_outside_the_services_invalidate(manager, redis_cache, django_user_model):
    user = django_user_model.objects.create_user("owner")
    by_user = manager.create_session(user=user).session_id
    by_queryset = manager.allocate_session()
    by_save = manager.allocate_session()
    for session_id in (by_user, by_queryset, by_save):
        assert manager.validate_session(session_id)  # warm
    user.delete()
    Session.objects.filter(pk=by_queryset).delete()
    row = Session.objects.get(pk=by_save)
    row.status = "deleted"
    row.save()
    for session_id in (by_user, by_queryset, by_save):
        assert manager.validate_session(session_id) is False


def test_a_slow_reader_never_caches_a_row_older_than_a_write(manager, redis_cache, monkeypatch):
    from sessions_app.services import ttl

    session_id = manager.allocate_session(custom_metadata={"v": 1})
    real_find = ttl.find_session

    def find_then_concurrent_delete(sandbox, pk):
        found = real_find(sandbox, pk)  # the reader has the live row...
        SessionManager("tests").delete_session(pk)  # ...when a writer deletes it
        return found

    monkeypatch.setattr(ttl, "find_session", find_then_concurrent_delete)
    manager.get_session_info(session_id)
    monkeypatch.setattr(ttl, "find_session", real_find)
    assert manager.validate_session(session_id) is False
    assert manager.get_session_info(session_id) is None


def test_touch_never_writes_back_an_old_snapshot(manager, redis_cache, settings, monkeypatch):
    from sessions_app.services import ttl

    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "TOUCH_INTERVAL": 0}
    session_id = manager.allocate_session(custom_metadata={"v": 1})
    real_snapshot = ttl._live_snapshot

    def read_then_concurrent_update(*args):
        snapshot = real_snapshot(*args)  # validation has read {"v": 1}...
        SessionManager("tests").update_session_metadata(session_id, {"v": 2})  # ...then a write
        return snapshot

    monkeypatch.setattr(ttl, "_live_snapshot", read_then_concurrent_update)
    assert manager.validate_session(session_id)  # touches
    monkeypatch.undo()
    assert manager.get_session_info(session_id)["custom_metadata"] == {"v": 2}


def test_health_check_reports_a_dead_cache_without_details(manager, dead_cache):
    report = manager.health_check()
    assert report["status"] == "unhealthy"
    assert report["checks"]["database"] == "ok"
    assert report["checks"]["cache"].startswith("error: ")
    assert "127.0.0.1" not in str(report)


def test_info_shows_the_activity_of_the_latest_message(manager, redis_cache):
    conversation = manager.create_session()
    before = manager.get_session_info(conversation.session_id)["last_accessed"]
    conversation.send_message("hello")
    after = manager.get_session_info(conversation.session_id)["last_accessed"]
    assert after > before
    assert after == Session.objects.get(pk=conversation.session_id).last_activity
