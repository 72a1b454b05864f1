"""The HTTP session middleware: the key from a cookie or the X-Session-ID header."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import AsyncClient, Client
from django.utils import timezone

from sessions_app.models import Session
from sessions_app.utils.keys import hash_key

pytestmark = pytest.mark.django_db

ENGINE = "sessions_app.engine"
OURS = "sessions_app.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
HEADER = "X-Session-ID"


@pytest.fixture(autouse=True, params=[None, "default"], ids=["db", "cached"])
def http(request, settings):
    """Every test runs on the database-only engine and with the engine's cache."""
    settings.ROOT_URLCONF = "tests.support.http_urls"
    settings.MIDDLEWARE = [OURS, AUTH]
    settings.SESSION_ENGINE = ENGINE
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "CACHE_ALIAS": request.param}
    caches["default"].clear()
    yield settings
    caches["default"].clear()


def stored(key: str) -> bool:
    """Whether the engine holds a row for ``key`` (it stores only the key's hash)."""
    return Session.objects.filter(key_hash=hash_key(key)).exists()


def fresh_key(**data: object) -> str:
    store = import_module(ENGINE).SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def get(path: str, key: str | None = None, header: str = HEADER, client: Client | None = None):
    """GET with no cookie; ``key`` travels only in the header."""
    client = client or Client()
    headers = {header: key} if key is not None else {}
    return client.get(path, headers=headers)


def varies_on(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


# The reference middleware's example.


def test_visits_counted_with_only_the_header():
    first = get("/visits/")
    key = first[HEADER]
    assert first.json() == {"visits": 1}
    assert key and stored(key)

    second = get("/visits/", key)
    assert second.json() == {"visits": 2}
    assert second[HEADER] == key


def test_visits_counted_with_the_cookie_and_no_header_sent_back():
    client = Client()
    first = client.get("/visits/")
    assert first.cookies["sessionid"].value == first[HEADER]
    second = client.get("/visits/")
    assert second.json() == {"visits": 2}
    assert HEADER not in second


def test_the_header_wins_over_the_cookie():
    by_cookie, by_header = fresh_key(visits=10), fresh_key(visits=20)
    client = Client()
    client.cookies["sessionid"] = by_cookie
    response = client.get("/read/", headers={HEADER: by_header})
    assert response.json() == {"visits": 20}
    assert response[HEADER] == by_header


def test_an_empty_header_falls_back_to_the_cookie():
    key = fresh_key(visits=3)
    client = Client()
    client.cookies["sessionid"] = key
    assert client.get("/read/", headers={HEADER: "  "}).json() == {"visits": 3}


def test_a_header_client_gets_its_accepted_key_even_when_the_view_ignores_the_session():
    key = fresh_key(visits=1)
    response = get("/untouched/", key)
    assert response[HEADER] == key
    assert {"cookie", "x-session-id"} <= varies_on(response)


# Unknown ids are never adopted.

UNKNOWN = [
    "unknownbutwellformed0123456789ab",
    "short",
    "garbage with spaces & symbols!",
    "ü" * 40,
    "x" * 300,
]


@pytest.mark.parametrize("sent", UNKNOWN)
@pytest.mark.parametrize("via", ["header", "cookie"])
def test_an_unknown_id_is_never_adopted(sent, via):
    client = Client()
    if via == "cookie":
        client.cookies["sessionid"] = sent
        response = client.get("/visits/")
    else:
        response = get("/visits/", sent, client=client)
    issued = response.cookies["sessionid"].value
    # A header client learns its new key from the header; a cookie client only from the cookie.
    assert response.get(HEADER) == (issued if via == "header" else None)
    assert response.json() == {"visits": 1}
    assert issued != sent
    assert stored(issued)
    assert not stored(sent)
    assert Session.objects.count() == 1


def test_an_expired_id_is_not_adopted():
    store = import_module(ENGINE).SessionStore()
    store["visits"] = 5
    store.set_expiry(timezone.now() - timedelta(seconds=5))
    store.save()
    expired = store.session_key

    response = get("/visits/", expired)
    assert response.json() == {"visits": 1}
    assert response[HEADER] not in ("", expired)


def test_an_unknown_header_id_on_a_read_only_view_creates_nothing():
    response = get("/read/", "unknownbutwellformed0123456789ab")
    assert response.json() == {"visits": 0}
    assert response[HEADER] == ""
    assert "sessionid" not in response.cookies
    assert Session.objects.count() == 0


# Cookie flags, other cookies, Vary.


def test_cookie_flags_follow_the_settings(settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_HTTPONLY = True
    settings.SESSION_COOKIE_SAMESITE = "Strict"
    settings.SESSION_COOKIE_DOMAIN = "example.test"
    settings.SESSION_COOKIE_PATH = "/app/"
    settings.SESSION_COOKIE_AGE = 1234
    response = get("/other-cookie/")
    cookie = response.cookies["sessionid"]
    assert cookie.value == response[HEADER]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["domain"] == "example.test"
    assert cookie["path"] == "/app/"
    assert cookie["max-age"] == 1234
    assert cookie["expires"]


def test_a_cookie_set_by_the_view_survives():
    response = get("/other-cookie/")
    assert response.cookies["theme"].value == "dark"
    assert response.cookies["sessionid"].value == response[HEADER]


def test_lax_defaults_when_flags_are_off(settings):
    settings.SESSION_COOKIE_SECURE = False
    settings.SESSION_COOKIE_HTTPONLY = False
    settings.SESSION_COOKIE_SAMESITE = None
    cookie = get("/visits/").cookies["sessionid"]
    assert not cookie["secure"]
    assert not cookie["httponly"]
    assert not cookie["samesite"]


def test_expire_at_browser_close_sets_a_session_cookie(settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    cookie = get("/visits/").cookies["sessionid"]
    assert not cookie["max-age"]
    assert not cookie["expires"]


@pytest.mark.parametrize("path", ["/visits/", "/read/"])
def test_vary_names_cookie_and_header_when_the_session_is_accessed(path):
    assert {"cookie", "x-session-id"} <= varies_on(get(path))


def test_no_vary_and_no_header_when_a_cookie_client_does_not_touch_the_session():
    client = Client()
    client.cookies["sessionid"] = fresh_key(visits=1)
    response = client.get("/untouched/")
    assert "Vary" not in response
    assert HEADER not in response


# Configurable header name.


def test_the_header_name_is_configurable(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "HEADER_NAME": "X-Chat-Session"}
    first = get("/visits/", header="X-Chat-Session")
    key = first["X-Chat-Session"]
    assert HEADER not in first
    assert {"cookie", "x-chat-session"} <= varies_on(first)

    second = get("/visits/", key, header="X-Chat-Session")
    assert second.json() == {"visits": 2}
    assert second["X-Chat-Session"] == key

    ignored = get("/visits/", key, header=HEADER)
    assert ignored.json() == {"visits": 1}
    assert ignored["X-Chat-Session"] != key


# Login cycles the key; logout flushes it.


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="pw")


def test_login_issues_a_new_key_and_drops_the_old_one(alice):
    before = get("/visits/")[HEADER]
    client = Client()
    client.cookies["sessionid"] = before
    response = client.get("/login/alice/")
    after = response.cookies["sessionid"].value
    assert after != before
    assert HEADER not in response  # the rotated key stays in the HttpOnly cookie
    assert stored(after)
    assert not stored(before)
    assert get("/visits/", after).json() == {"visits": 2}
    assert get("/who/", after).json() == {"user": "alice"}


def test_logout_removes_the_cookie_and_sends_no_stale_key(alice):
    client = Client()
    key = client.get("/login/alice/")[HEADER]
    response = client.get("/logout/")
    assert HEADER not in response
    assert response.cookies["sessionid"].value == ""
    assert response.cookies["sessionid"]["max-age"] == 0
    assert not stored(key)
    assert Session.objects.count() == 0


def test_logout_by_header_answers_an_empty_header(alice):
    key = get("/login/alice/")[HEADER]
    response = get("/logout/", key)
    assert response[HEADER] == ""
    assert key not in response.serialize_headers().decode()
    assert not stored(key)
    assert get("/who/", key).json() == {"user": ""}


# Django's behaviours kept.


def test_no_save_and_no_new_key_on_a_server_error():
    response = get("/fails/")
    assert response.status_code == 500
    assert HEADER not in response
    assert "sessionid" not in response.cookies
    assert Session.objects.count() == 0


def test_a_header_client_keeps_its_key_on_a_server_error():
    key = fresh_key(visits=1)
    response = get("/fails/", key)
    assert response[HEADER] == key
    assert get("/read/", key).json() == {"visits": 1}


@pytest.mark.parametrize("every_request", [True, False])
def test_save_every_request(settings, every_request):
    settings.SESSION_SAVE_EVERY_REQUEST = every_request
    response = get("/read/", fresh_key(visits=1))
    assert ("sessionid" in response.cookies) is every_request


def test_a_session_deleted_during_the_request_is_interrupted():
    key = fresh_key(visits=1)
    response = get("/deleted-meanwhile/", key)
    assert response.status_code == 400
    assert not stored(key)
    assert Session.objects.count() == 0


# ASGI.


def test_visits_counted_with_only_the_header_under_asgi():
    async def scenario() -> list:
        first = await AsyncClient().get("/avisits/")
        key = first[HEADER]
        second = await AsyncClient().get("/avisits/", headers={HEADER: key})
        third = await AsyncClient().get("/visits/", headers={HEADER: key})
        return [first, second, third]

    first, second, third = async_to_sync(scenario)()
    key = first[HEADER]
    assert [r.json()["visits"] for r in (first, second, third)] == [1, 2, 3]
    assert second[HEADER] == third[HEADER] == key
    assert stored(key)
    assert {"cookie", "x-session-id"} <= varies_on(second)


def test_an_unknown_id_is_never_adopted_under_asgi():
    async def scenario():
        return await AsyncClient().get("/avisits/", headers={HEADER: "unknownbutwellformed0123"})

    response = async_to_sync(scenario)()
    issued = response[HEADER]
    assert response.json() == {"visits": 1}
    assert issued not in ("", "unknownbutwellformed0123")
    assert stored(issued)
    assert Session.objects.count() == 1


def test_logout_under_asgi_sends_no_stale_key(alice):
    async def scenario():
        client = AsyncClient()
        key = (await client.get("/login/alice/"))[HEADER]
        return key, await client.get("/logout/")

    key, response = async_to_sync(scenario)()
    assert HEADER not in response
    assert response.cookies["sessionid"].value == ""
    assert not stored(key)


def test_a_header_client_learns_its_rotated_key_on_login(alice):
    before = get("/visits/")[HEADER]
    response = get("/login/alice/", before)
    after = response[HEADER]
    assert after not in ("", before)
    assert not stored(before) and stored(after)
    assert get("/who/", after).json() == {"user": "alice"}
