"""TTL sessions in sandboxes, and grid paths (the reference TTL manager's API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.cache import snapshot_key
from sessions_app.manager import SessionManager
from sessions_app.models import Session
from sessions_app.services.representations import session_representation

pytestmark = pytest.mark.django_db


def test_allocate_validate_info_update_extend_delete(manager):
    session_id = manager.allocate_session(user_id="alice", ttl_hours=2, custom_metadata={"a": 1})
    assert manager.validate_session(session_id) is True

    info = manager.get_session_info(session_id)
    assert info["session_id"] == session_id
    assert info["sandbox_id"] == "tests"
    assert info["user_id"] == "alice"
    assert info["custom_metadata"] == {"a": 1}
    assert (
        timedelta(hours=1, minutes=59)
        < info["expires_at"] - info["created_at"]
        <= timedelta(hours=2)
    )
    assert set(info) >= {"created_at", "expires_at", "last_accessed"}

    assert manager.update_session_metadata(session_id, {"b": 2}) is True
    assert manager.get_session_info(session_id)["custom_metadata"] == {"a": 1, "b": 2}
    assert manager.update_session_metadata(session_id, {"c": 3}, merge=False) is True
    assert manager.get_session_info(session_id)["custom_metadata"] == {"c": 3}

    before = manager.get_session_info(session_id)["expires_at"]
    assert manager.extend_session_ttl(session_id, 3) is True
    assert manager.get_session_info(session_id)["expires_at"] - before == timedelta(hours=3)

    assert manager.delete_session(session_id) is True
    assert manager.validate_session(session_id) is False
    assert manager.get_session_info(session_id) is None
    assert manager.delete_session(session_id) is False


@pytest.mark.parametrize(
    "bad_id", ["", "nope", "sess-123", None, 42, "00000000-0000-0000-0000-000000000000"]
)
def test_unknown_ids_are_not_valid(manager, bad_id):
    assert manager.validate_session(bad_id) is False
    assert manager.get_session_info(bad_id) is None
    assert manager.update_session_metadata(bad_id, {"x": 1}) is False
    assert manager.extend_session_ttl(bad_id, 1) is False


def test_allocate_never_adopts_an_unknown_id(manager):
    fixed = "11111111-1111-1111-1111-111111111111"
    issued = manager.allocate_session(session_id=fixed)
    assert issued != fixed
    assert manager.allocate_session(session_id=issued) == issued
    assert Session.objects.count() == 1


def test_expired_sessions_fail_validation_and_are_cleaned_up(manager):
    live = manager.allocate_session(ttl_hours=1)
    dead = manager.allocate_session(ttl_hours=1)
    Session.objects.filter(pk=dead).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert manager.validate_session(dead) is False
    assert manager.cleanup_expired_sessions() == 1
    assert list(Session.objects.values_list("pk", flat=True)) == [Session.objects.get(pk=live).pk]


def test_cleanup_deletes_in_bounded_batches(manager, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CLEANUP_BATCH_SIZE": 3}
    past = timezone.now() - timedelta(seconds=1)
    for _ in range(7):
        Session.objects.filter(pk=manager.allocate_session()).update(expires_at=past)
    with CaptureQueriesContext(connection) as queries:
        assert manager.cleanup_expired_sessions() == 7
    session_deletes = [
        q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "sessions_app_session"')
    ]
    assert len(session_deletes) == 3  # batches of 3, 3 and 1
    assert Session.objects.count() == 0


def test_sandboxes_are_isolated_even_for_the_same_user(db):
    a, b = SessionManager("tenant-a"), SessionManager("tenant-b")
    in_a = a.allocate_session(user_id="same-user")
    in_b = b.allocate_session(user_id="same-user")
    assert a.validate_session(in_a) and not b.validate_session(in_a)
    assert b.get_session_info(in_a) is None
    assert b.update_session_metadata(in_a, {"x": 1}) is False
    assert b.extend_session_ttl(in_a, 1) is False
    assert b.delete_session(in_a) is False
    assert a.find_session(in_b) is None
    assert [s.session_id for s in a.get_user_sessions("same-user")] == [in_a]
    assert [s.session_id for s in b.get_user_sessions("same-user")] == [in_b]
    assert b.cleanup_inactive_sessions(days=0) == 1
    assert a.validate_session(in_a)


def test_validate_touches_last_activity_at_most_once_per_interval(manager, settings):
    session_id = manager.allocate_session()
    old = timezone.now() - timedelta(minutes=5)
    Session.objects.filter(pk=session_id).update(last_activity=old)
    assert manager.validate_session(session_id)
    touched = Session.objects.get(pk=session_id).last_activity
    assert touched > old
    assert manager.validate_session(session_id)
    assert Session.objects.get(pk=session_id).last_activity == touched
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "TOUCH_INTERVAL": 0}
    assert manager.validate_session(session_id)
    assert Session.objects.get(pk=session_id).last_activity > touched


def test_sandbox_default_ttl_applies(db):
    from sessions_app.models import Sandbox

    Sandbox.objects.create(slug="short", default_ttl=60)
    session_id = SessionManager("short").allocate_session()
    info = SessionManager("short").get_session_info(session_id)
    assert info["expires_at"] - info["created_at"] == timedelta(seconds=60)


def test_grid_paths(manager):
    key = manager.generate_artifact_key("sess-1", "artifact-9")
    assert key == "grid/tests/sess-1/artifact-9"
    assert manager.get_canonical_prefix("sess-1") == "grid/tests/sess-1/"
    assert manager.get_session_prefix_pattern() == "grid/tests/"
    assert key.startswith(manager.get_canonical_prefix("sess-1"))
    assert manager.parse_grid_key(key) == {
        "sandbox_id": "tests",
        "session_id": "sess-1",
        "artifact_id": "artifact-9",
        "subpath": None,
    }
    assert manager.parse_grid_key("grid/tests/sess-1/a/b/c")["subpath"] == "b/c"
    for malformed in ("", "grid/tests/sess-1", "other/tests/s/a", "grid//s/a", "grid/t/s/"):
        assert manager.parse_grid_key(malformed) is None


def test_invalid_sandbox_id_is_a_configuration_error(db):
    from sessions_app.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError):
        SessionManager("has spaces/and slashes").allocate_session()


def test_async_ttl_twins(manager):
    async def scenario():
        session_id = await manager.aallocate_session(user_id="u", ttl_hours=1)
        valid = await manager.avalidate_session(session_id)
        await manager.aupdate_session_metadata(session_id, {"k": "v"})
        await manager.aextend_session_ttl(session_id, 1)
        info = await manager.aget_session_info(session_id)
        deleted = await manager.adelete_session(session_id)
        return valid, info, deleted, await manager.avalidate_session(session_id)

    valid, info, deleted, after = async_to_sync(scenario)()
    assert valid and deleted and not after
    assert info["custom_metadata"] == {"k": "v"}
    assert info["expires_at"] - info["created_at"] >= timedelta(hours=2) - timedelta(seconds=1)


def test_cleanups_fire_session_deleted(manager):
    deleted: list[str] = []
    manager.add_lifecycle_hook(
        "session_deleted", lambda event, **data: deleted.append(data["session_id"])
    )
    expired_id = manager.allocate_session()
    idle_id = manager.allocate_session()
    Session.objects.filter(pk=expired_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    Session.objects.filter(pk=idle_id).update(last_activity=timezone.now() - timedelta(days=2))
    assert manager.cleanup_expired_sessions() == 1
    assert manager.cleanup_inactive_sessions(days=1) == 1
    assert deleted == [expired_id, idle_id]
    assert manager.purge_deleted_sessions(older_than_seconds=3600) == 0  # deleted just now
    assert manager.purge_deleted_sessions(older_than_seconds=0) == 1


def test_info_is_read_from_the_session_document(manager):
    session_id = manager.allocate_session(user_id="ann", custom_metadata={"a": 1})
    session = Session.objects.select_related("sandbox").get(pk=session_id)
    document = session_representation(session, session.tags)
    info = manager.get_session_info(session_id)
    assert (info["session_id"], info["sandbox_id"], info["user_id"]) == (
        document["id"],
        document["sandbox"],
        document["user_id"],
    )
    assert (info["status"], info["custom_metadata"]) == (document["status"], document["metadata"])
    assert info["created_at"] == session.created_at and info["expires_at"] == session.expires_at
    assert info["last_accessed"] == session.last_activity


def test_a_snapshot_cached_in_an_earlier_shape_is_read_again(manager, settings):
    settings.CACHES = {
        **settings.CACHES,
        "ttl": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ttl"},
    }
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": "ttl"}
    session_id = manager.allocate_session(user_id="ann")
    earlier = {"id": session_id, "sandbox_id": 1, "status": "active", "metadata": {}}
    caches["ttl"].set(snapshot_key(session_id), earlier)
    assert manager.validate_session(session_id)
    assert manager.get_session_info(session_id)["user_id"] == "ann"
