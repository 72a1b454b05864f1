"""The API when the database goes away: JSON 503 ``database_unavailable``, never a page.

The loss is simulated (``tests/support/outages.py``), so these run on any database;
``tests/test_database_blip.py`` terminates real PostgreSQL backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import RequestFactory

from sessions_app.api.errors import server_error
from sessions_app.models import IdempotencyRecord, Message, MessageRole, Session
from sessions_app.providers import register_provider, unregister_provider
from sessions_app.providers.mock import MockProvider
from tests.support.api import create, url
from tests.support.outages import Outage, everything, lost_connection, writes

pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Any, path: str, body: Any, key: str) -> Any:
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.fixture
def outage_during_the_reply(monkeypatch) -> Iterator[Outage]:
    """Provider "blip": the database goes (for two tries) while it works on a reply."""
    with lost_connection(monkeypatch, writes(Session), failures=2, armed=False) as outage:

        class Blip(MockProvider):
            def complete(self, request: Any) -> Any:
                outage.armed = True
                return super().complete(request)

        register_provider("blip", Blip)
        try:
            yield outage
        finally:
            unregister_provider("blip")


def test_a_reply_lost_with_the_database_is_503_and_its_retry_stores_nothing_twice(
    as_alice, outage_during_the_reply
):
    session = create(as_alice, provider="blip")
    path = url("sessions", session["id"], "messages")
    first = post(as_alice, path, {"content": "hi"}, "turn-1")
    assert first.status_code == 503, first.content
    assert first.json()["code"] == "database_unavailable" and int(first["Retry-After"]) >= 1
    (message,) = Message.objects.filter(session_id=session["id"])
    assert message.role == MessageRole.USER
    assert first.json()["details"] == {"message_id": str(message.pk)}

    again = post(as_alice, path, {"content": "hi"}, "turn-1")
    assert again.status_code == 503 and again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(session_id=session["id"]).count() == 1


def test_a_database_gone_from_the_start_is_503_and_a_retry_runs_once(as_alice, monkeypatch):
    session = create(as_alice)
    path = url("sessions", session["id"], "messages")
    with lost_connection(monkeypatch, everything, failures=1000):
        first = post(as_alice, path, {"content": "hi"}, "turn-1")
    assert first.status_code == 503, first.content
    assert first["Content-Type"] == "application/json"
    assert first.json()["code"] == "database_unavailable" and int(first["Retry-After"]) >= 1
    assert not Message.objects.exists() and not IdempotencyRecord.objects.exists()

    again = post(as_alice, path, {"content": "hi"}, "turn-1")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Message.objects.filter(session_id=session["id"]).count() == 2


@pytest.fixture
def production(settings, client) -> Any:
    settings.DEBUG = False
    client.raise_request_exception = False
    return client


def test_an_unexpected_error_under_the_api_is_json_500(production, monkeypatch):
    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("sessions_app.api.views.meta.catalog.provider_listing", broken)
    response = production.get(url("providers"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"


def test_a_lost_database_outside_a_view_is_json_503(production, monkeypatch):
    from django.db import OperationalError

    def gone(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    # The session middleware loads the key of an X-Session-ID header before any view runs.
    monkeypatch.setattr("sessions_app.http.engine.SessionStore.load", gone)
    response = production.get(url("sessions"), HTTP_X_SESSION_ID="k" * 32)
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable" and "Retry-After" in response


def test_other_pages_keep_djangos_server_error_page():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
