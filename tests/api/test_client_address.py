"""One client-address rule for the API: ``REMOTE_ADDR``, or the trusted proxy's report.

Throttles and idempotency scope anonymous clients by it; a client cannot pick an
address of its own in ``X-Forwarded-For``.
"""

from __future__ import annotations

import pytest

from sessions_app.models import Session
from tests.support.api import client_for, url

PROXY = "10.0.0.1"


@pytest.fixture
def trusted_proxy(settings):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "TRUSTED_PROXY_HEADER": "HTTP_X_FORWARDED_FOR",
    }


def via(forwarded: str, remote: str = PROXY) -> dict[str, str]:
    return {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}


def anonymous_get(**meta: str) -> int:
    return client_for().get(url("providers"), **meta).status_code


def allow_one_anonymous_request(settings) -> None:
    rates = {"user": None, "anon": "1/min", "session": None}
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "THROTTLE_RATES": rates}


def anonymous_create(key: str, **meta: str) -> str:
    response = client_for().post(
        url("sessions"), {}, format="json", HTTP_IDEMPOTENCY_KEY=key, **meta
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def anonymous_sessions(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "ALLOW_ANONYMOUS_SESSIONS": True}


def test_behind_a_trusted_proxy_the_throttle_counts_the_address_it_reports(settings, trusted_proxy):
    allow_one_anonymous_request(settings)
    assert anonymous_get(**via("198.51.100.1, 192.0.2.1")) == 200
    # Entries left of the proxy's own come from the client: changing them changes nothing.
    assert anonymous_get(**via("198.51.100.9, 192.0.2.1")) == 429
    assert anonymous_get(**via("192.0.2.2")) == 200


def test_without_a_trusted_proxy_the_throttle_counts_remote_addr(settings):
    allow_one_anonymous_request(settings)
    assert anonymous_get(**via("192.0.2.1")) == 200
    assert anonymous_get(**via("192.0.2.2")) == 429  # a forged header buys no new budget
    assert anonymous_get(**via("192.0.2.2", remote="10.0.0.2")) == 200


def test_behind_a_trusted_proxy_idempotency_keys_are_scoped_by_the_address_it_reports(
    anonymous_sessions, trusted_proxy
):
    first = anonymous_create("k", **via("198.51.100.1, 192.0.2.1"))
    assert anonymous_create("k", **via("198.51.100.9, 192.0.2.1")) == first  # replayed
    assert anonymous_create("k", **via("192.0.2.2")) != first
    assert Session.objects.count() == 2


def test_without_a_trusted_proxy_idempotency_keys_are_scoped_by_remote_addr(anonymous_sessions):
    first = anonymous_create("k", **via("192.0.2.1"))
    assert anonymous_create("k", **via("192.0.2.2")) == first  # replayed
    assert anonymous_create("k", **via("192.0.2.2", remote="10.0.0.2")) != first
    assert Session.objects.count() == 2
