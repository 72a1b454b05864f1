"""Caching headers: no cache stores an answer that holds a key or private data, and ``Vary``
names what selects the answer (``Authorization`` and the session key's header)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils.cache import has_vary_header
from rest_framework.authtoken.models import Token

from tests.support.api import client_for, create, url

STREAM = {"HTTP_ACCEPT": "text/event-stream"}


def directives(response: Any) -> set[str]:
    return {d.strip().lower() for d in response.get("Cache-Control", "").split(",") if d.strip()}


def assert_private(response: Any, header: str = "X-Session-ID") -> None:
    assert "no-store" in directives(response), (response.status_code, response.headers)
    assert has_vary_header(response, "Authorization"), response.headers
    assert has_vary_header(response, header), response.headers


@pytest.fixture
def session(as_alice) -> dict[str, Any]:
    created = create(as_alice)
    as_alice.post(url("sessions", created["id"], "messages"), {"content": "hi"}, format="json")
    return created


def test_the_create_answer_is_never_stored(as_alice):
    response = as_alice.post(url("sessions"), {}, format="json")
    assert response.status_code == 201 and response["X-Session-ID"]
    assert_private(response)


def test_an_idempotent_replay_of_a_create_is_never_stored(as_alice):
    as_alice.post(url("sessions"), {}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = as_alice.post(url("sessions"), {}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again["Idempotent-Replayed"] == "true"
    assert_private(again)


READS = [
    ("sessions",),
    ("sessions", "{id}"),
    ("sessions", "{id}", "messages"),
    ("sessions", "{id}", "context"),
    ("sessions", "{id}", "metrics"),
    ("sessions", "{id}", "export"),
]


@pytest.mark.parametrize("parts", READS, ids=lambda parts: "/".join(parts))
@pytest.mark.parametrize("caller", ["user", "token", "key"])
def test_every_read_of_private_data_is_never_stored(session, alice, parts, caller):
    client = {
        "user": client_for(alice),
        "token": client_for(token=Token.objects.create(user=alice).key),
        "key": client_for(key=session["session_key"]),
    }[caller]
    response = client.get(url(*(part.format(id=session["id"]) for part in parts)))
    assert response.status_code == 200
    assert_private(response)


def test_one_message_is_never_stored(as_alice, session):
    first = as_alice.get(url("sessions", session["id"], "messages")).json()["results"][0]
    response = as_alice.get(url("sessions", session["id"], "messages", first["id"]))
    assert response.status_code == 200
    assert_private(response)


@pytest.mark.parametrize(
    "method, parts, body",
    [
        ("post", ("messages",), {"content": "hello"}),
        ("patch", ("context",), {"user_context": {"a": 1}}),
        ("patch", (), {"name": "renamed"}),
        ("post", ("extend",), {"seconds": 60}),
        ("post", ("validate",), None),
        ("post", ("archive",), None),
    ],
)
def test_every_write_answer_is_never_stored(as_alice, session, method, parts, body):
    response = getattr(as_alice, method)(
        url("sessions", session["id"], *parts), body, format="json"
    )
    assert response.status_code in (200, 201), response.content
    assert_private(response)


def test_a_streamed_reply_is_never_stored(as_alice, session):
    response = as_alice.post(
        url("sessions", session["id"], "messages"), {"content": "hi"}, format="json", **STREAM
    )
    assert response["Content-Type"].startswith("text/event-stream")
    b"".join(response.streaming_content)
    assert_private(response)


def test_refusals_are_never_stored_and_vary_on_the_credentials(as_alice, session):
    assert_private(client_for().get(url("sessions", session["id"])))  # 401
    assert_private(client_for(key="k" * 40).get(url("sessions", session["id"])))  # 404
    assert_private(as_alice.get(url("sessions", "not-a-uuid")))


def test_vary_names_a_custom_session_header(settings, alice):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "HEADER_NAME": "X-Chat-Key"}
    response = client_for(alice).post(url("sessions"), {}, format="json")
    assert response["X-Chat-Key"]
    assert_private(response, header="X-Chat-Key")


def test_health_is_never_stored(db):
    response = client_for().get(url("health"))
    assert "no-store" in directives(response)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/visits/", "/read/"])
def test_a_web_response_that_echoes_the_key_is_never_stored(settings, path):
    settings.ROOT_URLCONF = "tests.support.http_urls"
    issued = Client().get("/visits/")
    assert issued["X-Session-ID"]
    assert "no-store" in directives(issued)
    echoed = Client().get(path, headers={"X-Session-ID": issued["X-Session-ID"]})
    assert echoed["X-Session-ID"] == issued["X-Session-ID"]
    assert "no-store" in directives(echoed)


@pytest.mark.django_db
def test_a_web_response_that_sets_the_session_cookie_is_never_stored(settings):
    settings.ROOT_URLCONF = "tests.support.http_urls"
    client = Client()
    client.get("/visits/")
    again = client.get("/visits/")  # the cookie is set again (its expiry slides)
    assert settings.SESSION_COOKIE_NAME in again.cookies
    assert "no-store" in directives(again)


@pytest.mark.django_db
def test_a_web_response_without_the_key_stays_cacheable(settings):
    settings.ROOT_URLCONF = "tests.support.http_urls"
    response = Client().get("/untouched/")
    assert "no-store" not in directives(response)
