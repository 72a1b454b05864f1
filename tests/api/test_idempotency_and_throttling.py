"""Idempotency-Key on POSTs, and the per-user / per-client / per-session throttles."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app.models import IdempotencyRecord, Message, Session
from sessions_app.services import idempotency
from tests.support.api import client_for, create, url

STREAM = {"HTTP_ACCEPT": "text/event-stream"}


def post(client, path, body, key, **headers):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_a_retried_create_returns_the_first_response_and_creates_once(as_alice):
    first = post(as_alice, url("sessions"), {"name": "once"}, "create-1")
    again = post(as_alice, url("sessions"), {"name": "once"}, "create-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["X-Session-ID"] == first["X-Session-ID"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Session.objects.count() == 1
    other = post(as_alice, url("sessions"), {"name": "once"}, "create-2")
    assert other.json()["id"] != first.json()["id"] and Session.objects.count() == 2


def test_nothing_of_the_first_response_is_stored_in_the_clear(as_alice):
    first = post(as_alice, url("sessions"), {"name": "secret"}, "create-1").json()
    record = IdempotencyRecord.objects.get()
    stored = str(IdempotencyRecord.objects.filter(pk=record.pk).values().get())
    assert first["session_key"] not in stored and "secret" not in stored
    assert "create-1" not in stored


def test_a_retried_message_is_not_sent_twice(as_alice):
    session = create(as_alice)
    path = url("sessions", session["id"], "messages")
    first = post(as_alice, path, {"content": "hi"}, "msg-1")
    again = post(as_alice, path, {"content": "hi"}, "msg-1")
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert Message.objects.filter(session_id=session["id"]).count() == 2


def test_a_retried_stream_replays_its_events(as_alice):
    session = create(as_alice)
    path = url("sessions", session["id"], "messages")
    first = b"".join(post(as_alice, path, {"content": "hi"}, "s-1", **STREAM).streaming_content)
    again = post(as_alice, path, {"content": "hi"}, "s-1", **STREAM)
    assert again["Content-Type"].startswith("text/event-stream")
    assert again.content == first and b"event: done" in first
    assert Message.objects.filter(session_id=session["id"]).count() == 2


def test_the_same_key_with_another_request_is_422(as_alice):
    post(as_alice, url("sessions"), {"name": "a"}, "k")
    reused = post(as_alice, url("sessions"), {"name": "b"}, "k")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert Session.objects.count() == 1


def test_keys_are_per_caller(as_alice, as_bob):
    alices = post(as_alice, url("sessions"), {}, "shared").json()
    bobs = post(as_bob, url("sessions"), {}, "shared").json()
    assert alices["id"] != bobs["id"] and bobs["user"] != alices["user"]


def test_client_errors_replay_but_throttling_does_not(as_alice, settings):
    bad = post(as_alice, url("sessions"), {"ttl_seconds": -1}, "bad")
    assert post(as_alice, url("sessions"), {"ttl_seconds": -1}, "bad").json() == bad.json()
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "MIDDLEWARE": [("sessions_app.pipeline.RateLimitMiddleware", {"max_messages": 1})],
    }
    session = create(as_alice)
    path = url("sessions", session["id"], "messages")
    assert post(as_alice, path, {"content": "1"}, "m1").status_code == 201
    assert post(as_alice, path, {"content": "2"}, "m2").status_code == 429
    assert not IdempotencyRecord.objects.filter(status_code=429).exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_bad_keys_are_400(as_alice, key):
    response = post(as_alice, url("sessions"), {}, key)
    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"
    assert not Session.objects.exists()


def test_a_key_in_progress_is_409_and_an_abandoned_one_is_taken_over():
    fingerprint = idempotency.fingerprint("POST", {})
    claim = idempotency.claim("scope", "key", fingerprint)
    with pytest.raises(idempotency.IdempotencyKeyInUseError):
        idempotency.claim("scope", "key", fingerprint)
    IdempotencyRecord.objects.filter(pk=claim.record_id).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    assert isinstance(idempotency.claim("scope", "key", fingerprint), idempotency.Claim)


def test_records_expire_after_the_window(as_alice, settings):
    post(as_alice, url("sessions"), {}, "old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    fresh = post(as_alice, url("sessions"), {}, "old")
    assert "Idempotent-Replayed" not in fresh and Session.objects.count() == 2
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "IDEMPOTENCY_WINDOW": 3600}
    assert idempotency.purge_expired() == 0  # the new record is fresh
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=2))
    assert idempotency.purge_expired() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_once(alice, postgres):
    """Two requests with one key at the same moment: one creates, the other waits or replays."""
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def attempt() -> None:
        try:
            client = client_for(alice)
            barrier.wait()
            statuses.append(post(client, url("sessions"), {"name": "race"}, "race").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Session.objects.count() == 1
    assert set(statuses) <= {201, 409} and 201 in statuses


def limits(settings, **rates):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "THROTTLE_RATES": {"user": None, "anon": None, "session": None, **rates},
    }


def test_users_are_throttled_with_retry_after(as_alice, as_bob, settings):
    limits(settings, user="3/min")
    codes = [as_alice.get(url("sessions")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = as_alice.get(url("sessions"))
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert as_bob.get(url("sessions")).status_code == 200  # another user has their own budget


def test_anonymous_clients_are_throttled_by_address(settings):
    limits(settings, anon="2/min")
    anonymous = client_for()
    codes = [anonymous.get(url("providers")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    elsewhere = client_for()
    assert elsewhere.get(url("providers"), REMOTE_ADDR="10.1.1.1").status_code == 200


def test_sessions_are_throttled_one_by_one(as_alice, settings):
    limits(settings, session="2/min")
    busy, quiet = create(as_alice), create(as_alice)
    codes = [as_alice.get(url("sessions", busy["id"])).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert as_alice.get(url("sessions", quiet["id"])).status_code == 200


def test_health_is_never_throttled(settings):
    limits(settings, anon="1/min")
    anonymous = client_for()
    assert {anonymous.get(url("health")).status_code for _ in range(3)} == {200}


def test_throttles_count_in_redis_when_configured(as_alice, settings, redis_cache):
    limits(settings, user="2/min")
    codes = [as_alice.get(url("sessions")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert any("throttle_user" in str(key) for key in redis_cache.keys("*"))


def test_a_provider_failure_is_replayed_so_the_message_is_not_stored_twice(as_alice):
    from sessions_app.providers import register_provider, unregister_provider
    from sessions_app.providers.mock import MockProvider

    register_provider("broken", MockProvider, error_rate=1.0)
    try:
        session = create(as_alice, provider="broken")
        path = url("sessions", session["id"], "messages")
        first = post(as_alice, path, {"content": "hi"}, "p-1")
        again = post(as_alice, path, {"content": "hi"}, "p-1")
    finally:
        unregister_provider("broken")
    assert first.status_code == again.status_code == 502
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(session_id=session["id"]).count() == 1
