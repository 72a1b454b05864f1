"""Which Session rows the engine may load and write: live web sessions only.

A key of a conversation or TTL session, or of an archived, expired or deleted
session, reads as an unknown key to the engine: the request gets a fresh session
and the other row is never written. A login never takes a session from its owner
and never deletes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from sessions_app.engine import SessionStore
from sessions_app.manager import SessionManager
from sessions_app.models import Session, SessionStatus
from sessions_app.services.access import create_session_for
from sessions_app.utils.keys import hash_key

pytestmark = pytest.mark.django_db

HEADER = "X-Session-ID"
WATCHED = ("user_id", "status", "expires_at", "last_activity", "session_data", "key_hash")


@pytest.fixture(autouse=True, params=[None, "default"], ids=["db", "cached"])
def http(request: Any, settings: Any) -> Any:
    """On the database-only engine and with the engine's cache (Redis under REDIS_URL)."""
    settings.ROOT_URLCONF = "tests.support.http_urls"
    settings.MIDDLEWARE = [
        "sessions_app.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    settings.SESSION_ENGINE = "sessions_app.engine"
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "CACHE_ALIAS": request.param,
        "ALLOW_ANONYMOUS_SESSIONS": True,
    }
    caches["default"].clear()
    yield settings
    caches["default"].clear()


@pytest.fixture
def alice() -> Any:
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def bob() -> Any:
    return get_user_model().objects.create_user("bob")


def row(key: str) -> Session | None:
    return Session.objects.filter(key_hash=hash_key(key)).first()


def snapshot(key: str) -> dict[str, Any]:
    found = row(key)
    assert found is not None
    return {name: getattr(found, name) for name in WATCHED}


def change(key: str, **changes: Any) -> str:
    if changes:
        Session.objects.filter(key_hash=hash_key(key)).update(**changes)
        caches["default"].clear()  # a queryset update bypasses invalidation; the services do not
    return key


def conversation_key(owner: Any = None, **changes: Any) -> str:
    handle = SessionManager("default").create_session(
        user=owner, provider="mock", model="mock-model"
    )
    return change(handle.session_key, **changes)


def ttl_key() -> str:
    """A TTL session (no provider) created through the API's service, which issues a key."""
    return create_session_for(
        None, user_id="ext-1", ttl_seconds=3600, conversational=False
    ).session_key


def web_key(**changes: Any) -> str:
    store = SessionStore()
    store["visits"] = 7
    store.save()
    return change(store.session_key, **changes)


def past() -> Any:
    return timezone.now() - timedelta(minutes=1)


def send(key: str, via: str, path: str = "/visits/", client: Client | None = None) -> Any:
    client = client or Client()
    if via == "cookie":
        client.cookies["sessionid"] = key
        return client.get(path)
    return client.get(path, headers={HEADER: key})


def key_of(response: Any) -> str | None:
    cookie = response.cookies.get("sessionid")
    return cookie.value if cookie is not None and cookie.value else None


KINDS = {
    "archived conversation": lambda: conversation_key(status=SessionStatus.ARCHIVED),
    "live conversation": lambda: conversation_key(),
    "ttl session": ttl_key,
    "archived web session": lambda: web_key(status=SessionStatus.ARCHIVED),
    "soft-deleted web session": lambda: web_key(status=SessionStatus.DELETED),
    "expired web session": lambda: web_key(expires_at=past()),
}


@pytest.mark.parametrize("via", ["cookie", "header"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_key_the_engine_may_not_serve_is_never_written(kind: str, via: str) -> None:
    key = KINDS[kind]()
    before = snapshot(key)
    for _ in range(2):  # the second request would read a cached entry
        response = send(key, via)
        assert response.json() == {"visits": 1}  # a fresh session, not the other row's data
        assert key_of(response) not in (None, key)
    assert snapshot(key) == before


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_logout_with_a_key_the_engine_may_not_serve_deletes_nothing(kind: str) -> None:
    key = KINDS[kind]()
    before = snapshot(key)
    send(key, "cookie", "/logout/")
    assert snapshot(key) == before


@pytest.mark.parametrize("via", ["cookie", "header"])
def test_a_login_with_alices_conversation_key_leaves_it_hers(alice: Any, bob: Any, via: str):
    key = conversation_key(owner=alice)
    before = snapshot(key)
    response = send(key, via, "/login/bob/")
    assert response.status_code == 200
    assert snapshot(key) == before  # still alice's, same key, nothing written
    new_key = key_of(response)
    assert new_key not in (None, key)
    assert row(new_key).user_id == bob.pk


@pytest.mark.parametrize("via", ["cookie", "header"])
def test_a_login_with_alices_signed_in_session_leaves_it_hers(alice: Any, bob: Any, via: str):
    client = Client()
    alices_key = key_of(client.get("/login/alice/"))
    assert row(alices_key).user_id == alice.pk
    response = send(alices_key, via, "/login/bob/")
    new_key = key_of(response)
    assert new_key not in (None, alices_key)
    assert row(new_key).user_id == bob.pk
    assert row(alices_key).user_id == alice.pk  # present, and still hers
    client.cookies["sessionid"] = alices_key
    assert client.get("/who/").json() == {"user": "alice"}


def test_a_logout_still_ends_the_signed_in_session(alice: Any) -> None:
    client = Client()
    key = key_of(client.get("/login/alice/"))
    client.get("/logout/")
    assert row(key) is None
    assert send(key, "cookie", "/who/").json() == {"user": ""}


def test_a_login_on_an_anonymous_web_session_keeps_its_row(alice: Any) -> None:
    client = Client()
    key = key_of(client.get("/visits/"))
    session_id = row(key).pk
    new_key = key_of(client.get("/login/alice/"))
    assert new_key != key and row(key) is None
    assert row(new_key).pk == session_id and row(new_key).user_id == alice.pk


def test_the_api_key_holder_is_never_told_to_forget_a_live_key(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.support.server_urls"
    key = conversation_key()
    session_id = row(key).pk
    response = Client().get(f"/api/v1/sessions/{session_id}/", headers={HEADER: key})
    assert response.status_code == 200
    assert response.get(HEADER) != ""


def test_an_unknown_header_key_is_still_told_to_forget() -> None:
    response = Client().get("/read/", headers={HEADER: "x" * 32})
    assert response[HEADER] == ""


def test_an_async_login_with_alices_signed_in_session_leaves_it_hers(alice: Any, bob: Any):
    from asgiref.sync import async_to_sync
    from django.contrib.auth import alogin, login
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.session = SessionStore()
    login(request, alice)
    request.session.save()
    alices_key = request.session.session_key
    request = RequestFactory().get("/")
    request.session = SessionStore(alices_key)
    async_to_sync(alogin)(request, bob)
    request.session.save()
    assert request.session.session_key != alices_key
    assert row(request.session.session_key).user_id == bob.pk
    assert row(alices_key).user_id == alice.pk


def test_an_async_logout_ends_the_session(alice: Any) -> None:
    from asgiref.sync import async_to_sync
    from django.contrib.auth import alogout, login
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.session = SessionStore()
    login(request, alice)
    request.session.save()
    key = request.session.session_key
    request.user = alice
    async_to_sync(alogout)(request)
    assert row(key) is None


@pytest.mark.parametrize(
    "changes",
    [{"status": SessionStatus.ARCHIVED}, {"expires_at": past()}, {"provider": "mock"}],
    ids=["archived", "expired", "now a conversation"],
)
def test_a_row_that_stopped_being_the_engines_after_the_load_is_not_written(changes):
    from django.contrib.sessions.backends.base import UpdateError

    key = web_key()
    store = SessionStore(key)
    store["visits"] = 8  # loaded while still a live web session
    Session.objects.filter(key_hash=hash_key(key)).update(**changes)
    before = snapshot(key)
    with pytest.raises(UpdateError):
        store.save()
    assert snapshot(key) == before
