"""User-linked sessions: login records user, IP and user agent; users see and end devices."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import alogin, login
from django.test import RequestFactory

from sessions_app.engine import SessionStore
from sessions_app.manager import SessionManager
from sessions_app.models import Session
from sessions_app.utils.keys import hash_key

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def logged_in(user, *, remote="203.0.113.7", extra=None) -> SessionStore:
    request = RequestFactory().get(
        "/", REMOTE_ADDR=remote, HTTP_USER_AGENT=BROWSER, **(extra or {})
    )
    request.session = SessionStore()
    request.session["before_login"] = True
    login(request, user)
    request.session.save()
    return request.session


def row_of(store: SessionStore) -> Session:
    return Session.objects.get(key_hash=hash_key(store.session_key))


def test_login_links_user_ip_and_user_agent(django_user_model):
    user = django_user_model.objects.create_user("ann")
    row = row_of(logged_in(user))
    assert (row.user_id, row.ip_address, row.user_agent) == (user.pk, "203.0.113.7", BROWSER)


def test_async_login_links_every_field(django_user_model):
    user = django_user_model.objects.create_user("bob")

    async def scenario() -> SessionStore:
        request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.2", HTTP_USER_AGENT=BROWSER)
        request.session = SessionStore()
        await alogin(request, user)
        await request.session.asave()
        return request.session

    row = row_of(async_to_sync(scenario)())
    assert (row.user_id, row.ip_address, row.user_agent) == (user.pk, "198.51.100.2", BROWSER)


def test_trusted_proxy_header(django_user_model, settings):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "TRUSTED_PROXY_HEADER": "HTTP_X_FORWARDED_FOR",
    }
    user = django_user_model.objects.create_user("cy")
    forwarded = {"HTTP_X_FORWARDED_FOR": "10.9.9.9, 192.0.2.44"}
    assert row_of(logged_in(user, remote="127.0.0.1", extra=forwarded)).ip_address == "192.0.2.44"
    spoofed = {"HTTP_X_FORWARDED_FOR": "not-an-ip"}
    assert row_of(logged_in(user, remote="127.0.0.1", extra=spoofed)).ip_address == "127.0.0.1"


def test_without_a_trusted_proxy_the_header_is_ignored(django_user_model):
    user = django_user_model.objects.create_user("dee")
    forwarded = {"HTTP_X_FORWARDED_FOR": "192.0.2.44"}
    assert row_of(logged_in(user, remote="127.0.0.1", extra=forwarded)).ip_address == "127.0.0.1"


def test_list_devices_and_end_one_or_all_others(django_user_model):
    ann = django_user_model.objects.create_user("ann")
    other = django_user_model.objects.create_user("eve")
    laptop, phone, tablet = (logged_in(ann, remote=f"192.0.2.{n}") for n in (1, 2, 3))
    logged_in(other)
    manager = SessionManager()
    devices = manager.get_user_sessions(ann)
    assert {d.ip_address for d in devices} == {"192.0.2.1", "192.0.2.2", "192.0.2.3"}
    assert all(d.user_agent == BROWSER and d.last_activity for d in devices)

    assert manager.end_user_session(other, row_of(phone).pk) is False  # not eve's
    assert manager.end_user_session(ann, row_of(phone).pk) is True
    assert SessionStore(phone.session_key).load() == {}

    assert manager.end_other_user_sessions(ann, laptop.session_key) == 1
    assert SessionStore(tablet.session_key).load() == {}
    assert SessionStore(laptop.session_key).load()["before_login"] is True
    assert len(manager.get_user_sessions(other)) == 1
