"""Sessions endpoints: create, list and filter, read, change, delete, archive, extend, validate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sessions_app.models import Session
from sessions_app.utils.keys import hash_key
from tests.support.api import client_for, create, url

SESSION_FIELDS = {
    "id", "sandbox", "user", "user_id", "provider", "model", "status", "name", "description",
    "tags", "config", "metadata", "created_at", "last_activity", "expires_at", "message_count",
    "input_tokens", "output_tokens", "estimated_cost", "cost_status", "cached_input_tokens",
    "cache_write_tokens", "reasoning_tokens",
}  # fmt: skip


def test_create_returns_the_session_and_its_key_once(as_alice, alice):
    body = create(
        as_alice,
        provider="mock",
        model="mock-echo",
        name="Support",
        description="chat",
        tags=["b", "a"],
        config={"max_messages": 10, "custom_settings": {"tone": "dry"}},
        metadata={"plan": "pro"},
        ttl_seconds=3600,
        user_id="ext-1",
    )
    assert set(body) == SESSION_FIELDS | {"session_key"}
    assert body["user"] == alice.pk and body["user_id"] == "ext-1"
    assert (body["provider"], body["model"], body["status"]) == ("mock", "mock-echo", "active")
    assert body["tags"] == ["a", "b"] and body["metadata"] == {"plan": "pro"}
    assert body["config"]["max_messages"] == 10
    assert body["config"]["custom_settings"] == {"tone": "dry"}
    lifetime = parse_datetime(body["expires_at"]) - parse_datetime(body["created_at"])
    assert lifetime == timedelta(hours=1)
    stored = Session.objects.get(pk=body["id"])
    assert stored.key_hash == hash_key(body["session_key"])  # only the hash is stored
    assert body["session_key"] not in str(Session.objects.filter(pk=body["id"]).values().get())
    again = as_alice.get(url("sessions", body["id"])).json()
    assert "session_key" not in again and set(again) == SESSION_FIELDS


def test_create_answers_the_key_in_the_header_and_the_location(as_alice):
    response = as_alice.post(url("sessions"), {}, format="json")
    assert response.status_code == 201
    assert response["X-Session-ID"] == response.json()["session_key"]
    assert response["Location"].endswith(url("sessions", response.json()["id"]))


@pytest.mark.parametrize(
    "body, field",
    [
        ({"provider": "nope"}, None),
        ({"model": "m" * 300}, "model"),
        ({"ttl_seconds": -5}, "ttl_seconds"),
        ({"ttl_seconds": "soon"}, "ttl_seconds"),
        ({"tags": "a"}, "tags"),
        ({"tags": ["x" * 65]}, "tags"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"config": {"max_messages": 0}}, None),
        ({"config": {"unknown_option": 1}}, None),
        ({"name": "n\x00"}, "name"),
        ({"sandbox": "no such sandbox"}, "sandbox"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_create_rejects_bad_input_with_400_and_creates_nothing(as_alice, body, field):
    response = as_alice.post(url("sessions"), body, format="json")
    assert response.status_code == 400, response.content
    if field:
        body = response.json()
        assert field in body or body["details"]["field"] == field
    else:
        assert response.json()["detail"]
    assert not Session.objects.exists()


def test_malformed_json_and_non_json_bodies_are_client_errors(as_alice):
    bad_json = as_alice.post(url("sessions"), "{not json", content_type="application/json")
    assert bad_json.status_code == 400
    form = as_alice.post(url("sessions"), {"name": "x"})  # multipart
    assert form.status_code == 415
    not_object = as_alice.post(url("sessions"), [1, 2], format="json")
    assert not_object.status_code == 400
    assert not Session.objects.exists()


def test_unknown_sandbox_and_foreign_sandbox_read_the_same(as_alice, as_bob, team):
    assert create(as_alice, sandbox="team")["sandbox"] == "team"
    foreign = as_bob.post(url("sessions"), {"sandbox": "team"}, format="json")
    unknown = as_bob.post(url("sessions"), {"sandbox": "nowhere"}, format="json")
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json()["code"] == unknown.json()["code"] == "unknown_sandbox"


def test_default_sandbox_can_be_closed_to_non_staff(as_alice, as_staff, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "ALLOW_DEFAULT_SANDBOX": False}
    assert as_alice.post(url("sessions"), {}, format="json").status_code == 400
    assert create(as_staff)["sandbox"] == "default"


def test_anonymous_creation_follows_the_setting(settings):
    anonymous = client_for()
    assert anonymous.post(url("sessions"), {}, format="json").status_code in (401, 403)
    assert not Session.objects.exists()
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "ALLOW_ANONYMOUS_SESSIONS": True}
    body = create(anonymous, name="guest")
    assert body["user"] is None
    holder = client_for(key=body["session_key"])
    assert holder.get(url("sessions", body["id"])).json()["name"] == "guest"


def test_list_is_paginated_newest_first(as_alice, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "API_PAGE_SIZE": 2}
    ids = [create(as_alice, name=f"s{i}")["id"] for i in range(5)]
    first = as_alice.get(url("sessions")).json()
    assert first["count"] == 5 and first["previous"] is None
    assert [s["id"] for s in first["results"]] == ids[::-1][:2]
    second = as_alice.get(first["next"]).json()
    assert [s["id"] for s in second["results"]] == ids[::-1][2:4]
    big = as_alice.get(url("sessions"), {"page_size": 3}).json()
    assert len(big["results"]) == 3
    assert as_alice.get(url("sessions"), {"page": 99}).status_code == 404
    assert as_alice.get(url("sessions"), {"page": "x"}).status_code == 404


def test_list_filters(as_alice, team):
    a = create(as_alice, name="Billing help", tags=["x", "y"], user_id="u1", model="mock-echo")
    b = create(as_alice, description="about billing", tags=["x"], sandbox="team")
    c = create(as_alice, name="other")
    as_alice.post(url("sessions", c["id"], "archive"))

    def ids(**query):
        response = as_alice.get(url("sessions"), query)
        assert response.status_code == 200, response.content
        return {s["id"] for s in response.json()["results"]}

    assert ids(tag="x") == {a["id"], b["id"]}
    assert ids(tag=["x", "y"]) == {a["id"]}
    assert ids(search="billing") == {a["id"], b["id"]}
    assert ids(status="archived") == {c["id"]}
    assert ids(sandbox="team") == {b["id"]}
    assert ids(user_id="u1") == {a["id"]}
    assert ids(model="mock-echo") == {a["id"]}
    assert ids(provider="mock") == {a["id"], b["id"], c["id"]}
    assert ids(since=(timezone.now() + timedelta(hours=1)).isoformat()) == set()
    for bad_tags in (["x\x00"], ["x\x00", "y"], ["y", "x" * 65]):
        assert as_alice.get(url("sessions"), {"tag": bad_tags}).status_code == 400


@pytest.mark.parametrize("query", [{"status": "sleeping"}, {"since": "yesterday"}])
def test_list_rejects_bad_filters(as_alice, query):
    response = as_alice.get(url("sessions"), query)
    assert response.status_code == 400
    assert set(query) <= set(response.json())


def test_patch_changes_fields_and_merges_metadata(as_alice):
    body = create(as_alice, name="old", metadata={"a": 1}, tags=["t"])
    response = as_alice.patch(
        url("sessions", body["id"]),
        {
            "name": "new",
            "description": "d",
            "tags": ["u", "v"],
            "config": {"max_messages": 5},
            "metadata": {"b": 2},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    changed = response.json()
    assert (changed["name"], changed["description"], changed["tags"]) == ("new", "d", ["u", "v"])
    assert changed["metadata"] == {"a": 1, "b": 2}
    assert changed["config"]["max_messages"] == 5
    assert as_alice.get(url("sessions", body["id"])).json() == changed


def test_patch_bad_input_changes_nothing(as_alice):
    body = create(as_alice, name="keep")
    for bad in ({"config": {"max_messages": -1}}, {"status": "archived"}, {"tags": [1, None]}):
        response = as_alice.patch(url("sessions", body["id"]), {"name": "x", **bad}, format="json")
        assert response.status_code == 400, (bad, response.content)
    assert as_alice.get(url("sessions", body["id"])).json()["name"] == "keep"


def test_put_is_not_allowed(as_alice):
    body = create(as_alice)
    assert as_alice.put(url("sessions", body["id"]), {}, format="json").status_code == 405


def test_delete_is_soft_and_hides_the_session(as_alice):
    body = create(as_alice)
    assert as_alice.delete(url("sessions", body["id"])).status_code == 204
    assert Session.objects.get(pk=body["id"]).status == "deleted"
    assert as_alice.get(url("sessions", body["id"])).status_code == 404
    assert as_alice.delete(url("sessions", body["id"])).status_code == 404
    holder = client_for(key=body["session_key"])
    assert holder.get(url("sessions", body["id"])).status_code == 404


def test_archive_makes_the_session_read_only(as_alice):
    body = create(as_alice)
    archived = as_alice.post(url("sessions", body["id"], "archive"))
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert as_alice.post(url("sessions", body["id"], "archive")).status_code == 200
    blocked = [
        as_alice.post(url("sessions", body["id"], "messages"), {"content": "hi"}, format="json"),
        as_alice.patch(url("sessions", body["id"]), {"name": "x"}, format="json"),
        as_alice.patch(url("sessions", body["id"], "context"), {"a": 1}, format="json"),
        as_alice.post(url("sessions", body["id"], "extend"), {"seconds": 60}, format="json"),
        as_alice.delete(url("sessions", body["id"], "messages")),
    ]
    assert [r.status_code for r in blocked] == [409] * len(blocked)
    assert blocked[0].json()["code"] == "invalid_state"
    assert as_alice.get(url("sessions", body["id"])).json()["name"] == ""
    assert as_alice.delete(url("sessions", body["id"])).status_code == 204


def test_extend_adds_seconds_to_the_expiry(as_alice):
    body = create(as_alice, ttl_seconds=600)
    response = as_alice.post(url("sessions", body["id"], "extend"), {"seconds": 120}, format="json")
    assert response.status_code == 200
    added = parse_datetime(response.json()["expires_at"]) - parse_datetime(body["expires_at"])
    assert added == timedelta(seconds=120)
    for bad in ({"seconds": 0}, {"seconds": "NaN"}, {"seconds": 1e300}, {}, {"hours": 1}):
        rejected = as_alice.post(url("sessions", body["id"], "extend"), bad, format="json")
        assert rejected.status_code == 400, bad
    assert (
        as_alice.get(url("sessions", body["id"])).json()["expires_at"]
        == (response.json()["expires_at"])
    )


def test_validate_touches_a_live_session_and_404s_an_expired_one(as_alice):
    body = create(as_alice, ttl_seconds=600)
    Session.objects.filter(pk=body["id"]).update(last_activity=timezone.now() - timedelta(hours=1))
    response = as_alice.post(url("sessions", body["id"], "validate"))
    assert response.json() == {"valid": True, "expires_at": body["expires_at"]}
    touched = Session.objects.get(pk=body["id"]).last_activity
    assert timezone.now() - touched < timedelta(minutes=1)
    Session.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert as_alice.post(url("sessions", body["id"], "validate")).status_code == 404
    assert as_alice.get(url("sessions", body["id"])).status_code == 404


def test_ids_that_are_not_uuids_are_the_apis_json_404(as_alice):
    session = create(as_alice)
    for path in (
        url("sessions", "not-a-uuid"),
        url("sessions", "not-a-uuid", "context"),
        url("sessions", "not-a-uuid", "messages"),
        url("sessions", session["id"], "messages", "not-a-uuid"),
    ):
        response = as_alice.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] in ("session_not_found", "message_not_found"), path


@pytest.mark.parametrize(
    "since", ["0401-06-09T01:39:45+23:14", "0001-01-01T00:00:00+23:00", "9999-12-31T23:59:59-23:00"]
)
def test_dates_with_any_offset_are_answered_not_crashed_on(as_alice, as_staff, since):
    session = create(as_alice)
    for path in (url("sessions"), url("sessions", session["id"], "messages")):
        assert as_alice.get(path, {"since": since}).status_code in (200, 400)
    assert as_staff.get(url("analytics"), {"start": since}).status_code in (200, 400)
