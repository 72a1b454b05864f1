"""``HEADER_NAME``: every place that reads or writes the session key's header uses the setting."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.api import client_for, create, url

pytestmark = pytest.mark.django_db

CUSTOM = "X-Chat-Key"
DEFAULT = "X-Session-ID"


@pytest.fixture(autouse=True)
def custom_header(settings):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "HEADER_NAME": CUSTOM,
        "ALLOW_ANONYMOUS_SESSIONS": True,
        "THROTTLE_RATES": {"user": None, "anon": None, "session": None},
    }


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


def holding(key: str):
    """An API client that sends ``key`` in the custom header."""
    client = client_for()
    client.credentials(HTTP_X_CHAT_KEY=key)
    return client


def test_the_api_answers_a_new_key_in_the_custom_header(alice):
    response = client_for(alice).post(url("sessions"), {}, format="json")
    assert response.status_code == 201
    assert response[CUSTOM] == response.json()["session_key"]
    assert DEFAULT not in response


def test_creating_while_holding_a_key_answers_the_new_key_in_the_custom_header(alice):
    held = create(client_for(alice))["session_key"]
    response = holding(held).post(url("sessions"), {}, format="json")
    assert response.status_code == 201
    assert response[CUSTOM] == response.json()["session_key"] != held
    assert DEFAULT not in response


def test_the_api_reads_the_key_from_the_custom_header_only(alice):
    created = create(client_for(alice))
    assert holding(created["session_key"]).get(url("sessions", created["id"])).status_code == 200
    default = client_for(key=created["session_key"])  # the key in X-Session-ID
    assert default.get(url("sessions", created["id"])).status_code in (401, 403)


def test_an_idempotent_replay_answers_the_key_in_the_custom_header(alice):
    client = client_for(alice)
    first = client.post(url("sessions"), {}, format="json", HTTP_IDEMPOTENCY_KEY="once")
    again = client.post(url("sessions"), {}, format="json", HTTP_IDEMPOTENCY_KEY="once")
    assert again["Idempotent-Replayed"] == "true"
    assert again[CUSTOM] == first[CUSTOM] == first.json()["session_key"]
    assert DEFAULT not in again


def test_the_middleware_reads_and_writes_the_custom_header(settings):
    settings.ROOT_URLCONF = "tests.support.http_urls"
    first = Client().get("/visits/")
    key = first[CUSTOM]
    assert key and DEFAULT not in first
    assert CUSTOM.lower() in first["Vary"].lower()

    second = Client().get("/visits/", headers={CUSTOM: key})
    assert second.json() == {"visits": 2} and second[CUSTOM] == key

    ignored = Client().get("/visits/", headers={DEFAULT: key})
    assert ignored.json() == {"visits": 1} and ignored[CUSTOM] != key
