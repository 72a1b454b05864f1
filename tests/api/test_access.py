"""Tenancy: two users, two sandboxes, an anonymous key holder and staff see only what is theirs."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from sessions_app.models import Session
from tests.support.api import client_for, create, url

pytestmark = pytest.mark.django_db

DETAIL_READS = ("", "messages", "context", "metrics", "export")


# (label, method, path under the session, body); each is answered with a status.
ROUTES = [
    *[(f"GET {r}", "get", r, None) for r in DETAIL_READS],
    ("PATCH", "patch", "", {"name": "x"}),
    ("PATCH context", "patch", "context", {"a": 1}),
    ("POST messages", "post", "messages", {"content": "x"}),
    ("POST extend", "post", "extend", {"seconds": 9}),
    ("POST validate", "post", "validate", None),
    ("POST archive", "post", "archive", None),
    ("DELETE messages", "delete", "messages", None),
    ("DELETE", "delete", "", None),
]


def every_route(client, session_id):
    """One request to each route of a session, as (label, status)."""
    answers = []
    for label, method, route, body in ROUTES:
        path = url("sessions", session_id, route) if route else url("sessions", session_id)
        response = getattr(client, method)(path, body, format="json")
        answers.append((label, response.status_code))
    return answers


def assert_unchanged(session_id, name="mine"):
    stored = Session.objects.get(pk=session_id)
    assert (stored.status, stored.name, stored.message_count) == ("active", name, 0)


def test_another_user_gets_404_everywhere_and_changes_nothing(as_alice, as_bob):
    mine = create(as_alice, name="mine")
    answers = every_route(as_bob, mine["id"])
    assert {status for _, status in answers} == {404}, answers
    assert_unchanged(mine["id"])
    assert as_bob.get(url("sessions")).json()["count"] == 0


def test_an_unknown_id_and_a_foreign_id_answer_alike(as_alice, as_bob):
    mine = create(as_alice)
    foreign = as_bob.get(url("sessions", mine["id"]))
    unknown = as_bob.get(url("sessions", "00000000-0000-4000-8000-000000000000"))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["code"] == unknown.json()["code"]


def test_a_user_removed_from_a_sandbox_no_longer_sees_its_sessions(as_alice, alice, team):
    in_team = create(as_alice, sandbox="team")
    team.members.remove(alice)
    assert as_alice.get(url("sessions", in_team["id"])).status_code == 404
    assert as_alice.get(url("sessions")).json()["count"] == 0


def test_the_default_sandbox_follows_the_setting(as_alice, settings):
    default = create(as_alice)
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "ALLOW_DEFAULT_SANDBOX": False}
    assert as_alice.get(url("sessions", default["id"])).status_code == 404


def test_a_member_sees_only_their_own_sessions_in_a_shared_sandbox(as_alice, as_bob, bob, team):
    team.members.add(bob)
    alices = create(as_alice, sandbox="team")
    bobs = create(as_bob, sandbox="team")
    assert as_bob.get(url("sessions", alices["id"])).status_code == 404
    listed = as_bob.get(url("sessions"), {"sandbox": "team"}).json()["results"]
    assert [s["id"] for s in listed] == [bobs["id"]]


def test_a_key_holder_sees_exactly_one_session(as_alice):
    mine = create(as_alice, name="mine")
    other = create(as_alice, name="other")
    holder = client_for(key=mine["session_key"])
    assert holder.get(url("sessions", mine["id"])).status_code == 200
    assert holder.get(url("sessions", other["id"])).status_code == 404
    listed = holder.get(url("sessions")).json()
    assert [s["id"] for s in listed["results"]] == [mine["id"]]
    sent = holder.post(url("sessions", mine["id"], "messages"), {"content": "hi"}, format="json")
    assert sent.status_code == 201
    assert holder.get(url("analytics")).status_code in (401, 403)


def test_a_wrong_or_malformed_key_opens_nothing(as_alice):
    mine = create(as_alice, name="mine")
    for key in ("x" * 32, "short", "UPPERCASE-AND-DASHES-" * 2, mine["id"]):
        stranger = client_for(key=key)
        assert stranger.get(url("sessions", mine["id"])).status_code in (401, 403, 404)
        assert stranger.get(url("sessions")).status_code in (200, 401, 403)
        if stranger.get(url("sessions")).status_code == 200:
            assert stranger.get(url("sessions")).json()["count"] == 0
    assert_unchanged(mine["id"])


def test_anonymous_without_a_key_is_refused():
    anonymous = client_for()
    assert anonymous.get(url("sessions")).status_code in (401, 403)
    assert anonymous.get(url("sessions", "00000000-0000-4000-8000-000000000000")).status_code in (
        401,
        403,
    )


def test_staff_see_every_sandbox(as_alice, as_bob, as_staff, team):
    create(as_alice, sandbox="team")
    create(as_bob)
    assert as_staff.get(url("sessions")).json()["count"] == 2
    assert create(as_staff, sandbox="team")["sandbox"] == "team"


def test_token_auth_works(alice):
    token = Token.objects.create(user=alice)
    client = client_for(token=token.key)
    session = create(client)
    assert session["user"] == alice.pk
    assert client.get(url("sessions")).json()["count"] == 1
    refused = client_for(token="0" * 40).get(url("sessions"))
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"


def test_session_auth_enforces_csrf(alice):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.login(username="alice", password="pw-alice")
    refused = browser.post(url("sessions"), {}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    browser.get("/admin/login/")  # any page that sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(url("sessions"), {}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    # One concept: the browser's own login session is one of alice's sessions too.
    listed = {s["id"] for s in browser.get(url("sessions")).json()["results"]}
    assert accepted.json()["id"] in listed and len(listed) == 2


def test_creating_while_holding_another_key_answers_the_new_key(as_alice, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "ALLOW_ANONYMOUS_SESSIONS": True}
    held = create(as_alice)
    holder = client_for(key=held["session_key"])
    response = holder.post(url("sessions"), {}, format="json")
    assert response.status_code == 201
    assert response["X-Session-ID"] == response.json()["session_key"] != held["session_key"]
