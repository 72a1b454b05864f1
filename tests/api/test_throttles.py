"""Throttles that cannot be turned against others: a session's budget is spent only by
callers who may see it, under one bucket however its id is spelt, and an anonymous
client's address is the app's one client-IP rule."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sessions_app.utils.keys import new_key
from tests.support.api import client_for, create, url


def rates(settings: Any, **given: str) -> None:
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "THROTTLE_RATES": {"user": None, "anon": None, "session": None, **given},
    }


def spellings(session_id: str) -> list[str]:
    plain = uuid.UUID(session_id)
    return [str(plain), str(plain).upper(), plain.hex, f"{{{plain}}}", plain.urn, plain.hex.upper()]


def test_strangers_spend_nothing_of_a_sessions_budget(as_alice, as_bob, settings):
    session = create(as_alice)
    rates(settings, session="3/min")
    strangers = [client_for(key=new_key()) for _ in range(5)] + [as_bob]
    for stranger in strangers:
        assert stranger.get(url("sessions", session["id"])).status_code == 404

    codes = [as_alice.get(url("sessions", session["id"])).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


def test_a_stranger_is_not_throttled_by_the_budget_of_a_session_they_cannot_see(
    as_alice, as_bob, settings
):
    session = create(as_alice)
    rates(settings, session="1/min")
    assert as_alice.get(url("sessions", session["id"])).status_code == 200
    assert as_alice.get(url("sessions", session["id"])).status_code == 429
    # Not 429: that would tell the stranger the session exists.
    assert as_bob.get(url("sessions", session["id"], "messages")).status_code == 404


def test_the_key_holder_still_gets_the_full_budget(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "ALLOW_ANONYMOUS_SESSIONS": True}
    session = create(client_for())
    rates(settings, session="2/min")
    for _ in range(3):
        assert client_for(key=new_key()).get(url("sessions", session["id"])).status_code == 404
    holder = client_for(key=session["session_key"])

    codes = [holder.get(url("sessions", session["id"])).status_code for _ in range(3)]

    assert codes == [200, 200, 429]


def test_every_spelling_of_a_session_id_counts_against_one_bucket(as_alice, settings):
    session = create(as_alice)
    rates(settings, session="2/min")

    codes = [as_alice.get(url("sessions", spelt)).status_code for spelt in spellings(session["id"])]

    assert codes == [200, 200, 429, 429, 429, 429]


def test_spellings_of_a_message_routes_session_id_share_the_bucket(as_alice, settings):
    session = create(as_alice)
    rates(settings, session="2/min")
    paths = [url("sessions", spelt, "messages") for spelt in spellings(session["id"])]
    assert [as_alice.get(path).status_code for path in paths[:3]] == [200, 200, 429]


def test_spellings_leave_one_counter_in_the_cache(as_alice, settings, redis_cache):
    session = create(as_alice)
    rates(settings, session="100/min")
    for spelt in spellings(session["id"]):
        assert as_alice.get(url("sessions", spelt)).status_code == 200
    assert [k for k in redis_cache.keys("*") if "throttle_session" in str(k)] == [
        f"throttle_session_id:{session['id']}"
    ]


@pytest.mark.parametrize("trusted", [False, True])
def test_forged_forwarded_for_buys_an_anonymous_client_no_budget(settings, trusted):
    if trusted:
        settings.SESSIONS_APP = {
            **settings.SESSIONS_APP,
            "TRUSTED_PROXY_HEADER": "HTTP_X_FORWARDED_FOR",
        }
    rates(settings, anon="2/min")
    # Behind the trusted proxy, the client's own entries are left of the proxy's last one.
    forged = [f"203.0.113.{n}" + (", 192.0.2.7" if trusted else "") for n in range(5)]

    codes = [
        client_for()
        .get(url("providers"), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=value)
        .status_code
        for value in forged
    ]

    assert codes == [200, 200, 429, 429, 429]


@pytest.mark.parametrize("route", [(), ("messages",), ("context",)])
def test_the_session_throttle_adds_no_query(as_alice, settings, route):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    session = create(as_alice)
    path = url("sessions", session["id"], *route)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_alice.get(path).status_code == 200
        return len(captured)

    unthrottled = queries()
    rates(settings, session="100/min")
    assert queries() == unthrottled
