"""The API through an outage of the cache its throttles count in: requests go through.

The cache is a redis-server of the test's own, configured as ``CACHE_ALIAS``
(the alias the throttles and ``RateLimitMiddleware`` count in), then paused
(SIGSTOP: every call waits for its socket timeout), killed, or flushed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import resolve

from sessions_app import cache_outages
from sessions_app.api import urls as api_urls
from sessions_app.models import Message, Session
from tests.support.api import client_for, create, url
from tests.support.redis_server import RedisServer, own_redis_server

ALIAS = "outage"
PLENTY = "1000/min"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with own_redis_server(tmp_path) as server:
        yield server


@pytest.fixture
def counted_in_own_redis(settings: Any, redis_server: RedisServer, monkeypatch: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        ALIAS: {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "CACHE_ALIAS": ALIAS,
        "ALLOW_ANONYMOUS_SESSIONS": True,
        "THROTTLE_RATES": {"user": PLENTY, "anon": PLENTY, "session": PLENTY},
        "MIDDLEWARE": [("sessions_app.pipeline.RateLimitMiddleware", {"max_messages": 100})],
    }
    monkeypatch.setattr(cache_outages, "RETRY_AFTER", 0.5)


def rate_limit_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "sessions_app.cache" and r.getMessage().startswith("Rate limit cache")
    ]


class Calls:
    """Every route of the API, called once or more; records the routes it reached."""

    def __init__(self) -> None:
        self.routes: set[str] = set()
        self.answers: list[tuple[str, str, int]] = []

    def __call__(self, client: Any, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        self.routes.add(resolve(path).route)
        send = getattr(client, method)
        response = send(path, **extra) if method == "get" else send(path, body, "json", **extra)
        self.answers.append((method, path, response.status_code))
        return response


def call_every_route(calls: Calls, alice: Any, staff: Any, key_holder: dict[str, Any]) -> None:
    as_alice, as_staff = client_for(alice), client_for(staff)
    holder = client_for(key=key_holder["session_key"])
    # Created (and replayed: idempotency keeps its records in the database) during the outage.
    first = calls(
        as_alice, "post", url("sessions"), {"ttl_seconds": 3600}, HTTP_IDEMPOTENCY_KEY="k"
    )
    again = calls(
        as_alice, "post", url("sessions"), {"ttl_seconds": 3600}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    session = url("sessions", first.json()["id"])
    calls(as_alice, "get", url("sessions"))
    calls(as_alice, "get", session)
    calls(as_alice, "patch", session, {"name": "renamed"})
    calls(as_alice, "post", session + "validate/")
    calls(as_alice, "post", session + "extend/", {"seconds": 60})
    sent = calls(as_alice, "post", session + "messages/", {"content": "hi"})
    calls(as_alice, "get", session + "messages/")
    calls(as_alice, "get", session + f"messages/{sent.json()['message']['id']}/")
    calls(as_alice, "get", session + "context/")
    calls(as_alice, "patch", session + "context/", {"user_context": {"lang": "fr"}})
    calls(as_alice, "get", session + "metrics/")
    calls(as_alice, "get", session + "export/")
    calls(as_alice, "delete", session + "messages/")
    calls(as_alice, "post", session + "archive/")
    calls(as_alice, "delete", session)
    calls(holder, "get", url("sessions", key_holder["id"]))
    calls(holder, "post", url("sessions", key_holder["id"], "messages"), {"content": "hello"})
    calls(client_for(), "get", url("providers"))
    calls(as_staff, "get", url("analytics"))
    calls(client_for(), "get", url("schema"))
    calls(client_for(), "get", url("docs"))
    calls(client_for(), "get", url("health"))


def expected_status(method: str, path: str) -> int:
    if path.endswith("/health/"):
        return 503  # its cache check reports the outage
    if path.endswith(("/archive/", "/validate/", "/extend/")):
        return 200
    return {"post": 201, "delete": 204}.get(method, 200)


def assert_every_route_answered(calls: Calls) -> None:
    every = {str(pattern.pattern).removeprefix("^") for pattern in api_urls.urlpatterns}
    assert [r for r in every if not any(reached.endswith(r) for reached in calls.routes)] == []
    wrong = [a for a in calls.answers if a[2] != expected_status(a[0], a[1])]
    assert wrong == []


@pytest.mark.parametrize("outage", ["paused", "killed"])
def test_every_route_answers_while_the_throttles_cache_is_down(
    counted_in_own_redis: None,
    redis_server: RedisServer,
    alice: Any,
    staff: Any,
    caplog: pytest.LogCaptureFixture,
    outage: str,
) -> None:
    key_holder = create(client_for())
    caplog.set_level(logging.INFO, logger="sessions_app.cache")
    redis_server.pause() if outage == "paused" else redis_server.kill()

    calls = Calls()
    call_every_route(calls, alice, staff, key_holder)

    assert_every_route_answered(calls)
    assert Message.objects.filter(session_id=key_holder["id"]).count() == 2  # message and reply
    [warning] = rate_limit_warnings(caplog)  # one per outage, not one per request
    assert repr(ALIAS) in warning
    health = client_for().get(url("health")).json()
    assert health["checks"]["rate_limits"].startswith("degraded")
    outages = health["cache_outages"][ALIAS]
    assert outages["outages"] == 1 and outages["since"] is not None
    assert outages["requests_not_counted"] >= len(calls.answers) - 3  # schema, docs, health


def test_counting_resumes_when_the_cache_answers_again(
    counted_in_own_redis: None,
    redis_server: RedisServer,
    alice: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "THROTTLE_RATES": {"user": "2/min"}}
    caplog.set_level(logging.INFO, logger="sessions_app.cache")
    as_alice = client_for(alice)
    redis_server.pause()
    assert {as_alice.get(url("providers")).status_code for _ in range(4)} == {200}
    redis_server.resume()
    time.sleep(cache_outages.RETRY_AFTER)

    codes = [as_alice.get(url("providers")).status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert len(rate_limit_warnings(caplog)) == 2  # it failed; it answers again
    health = client_for().get(url("health")).json()
    assert health["status"] == "healthy" and health["checks"]["rate_limits"] == "ok"
    assert health["cache_outages"][ALIAS]["outages"] == 1
    assert health["cache_outages"][ALIAS]["since"] is None


def test_a_flushed_cache_mid_window_is_no_error(
    counted_in_own_redis: None, redis_server: RedisServer, alice: Any, settings: Any
) -> None:
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "THROTTLE_RATES": {"user": "3/min", "session": None, "anon": None},
        "MIDDLEWARE": [("sessions_app.pipeline.RateLimitMiddleware", {"max_messages": 3})],
    }
    as_alice = client_for(alice)
    session = create(as_alice)
    messages = url("sessions", session["id"], "messages")
    assert as_alice.post(messages, {"content": "1"}, format="json").status_code == 201
    redis_server.flush()  # the counters vanish mid-window

    codes = [as_alice.post(messages, {"content": "2"}, format="json").status_code for _ in range(4)]

    # The flush forgot the first two requests; counting starts again from zero, without error.
    assert codes == [201, 201, 201, 429]
    assert Session.objects.get(pk=session["id"]).message_count == 8
    assert cache_outages.report().get(ALIAS, {}).get("outages", 0) == 0


def test_a_retried_message_is_sent_once_while_the_cache_is_down(
    counted_in_own_redis: None, redis_server: RedisServer, alice: Any
) -> None:
    as_alice = client_for(alice)
    session = create(as_alice)
    messages = url("sessions", session["id"], "messages")
    redis_server.kill()

    first, again = (
        as_alice.post(messages, {"content": "hi"}, "json", HTTP_IDEMPOTENCY_KEY="m-1")
        for _ in range(2)
    )

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(session_id=session["id"]).count() == 2  # once, with its reply
