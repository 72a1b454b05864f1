"""Input that once answered 500 (issue 9, finding 5): each is a 4xx with a JSON ``code``,
and nothing is stored."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sessions_app import limits
from sessions_app.models import Context, Message, Session
from tests.support.api import create, url

LONE = "\ud800"
ARABIC_ONE = '"\u0661"'  # a Unicode digit int() reads as 1


# Stands for a value nested 1,000 levels deep, spliced into the JSON text (json.dumps would
# hit the recursion limit building it).
DEEP = "<deep>"
DEEP_JSON = "[" * 1000 + "]" * 1000


def post_raw(client: Any, path: str, body: Any, method: str = "post", **headers: Any) -> Any:
    """Send ``body`` as JSON with ASCII escapes, so a lone surrogate reaches the server as sent."""
    text = json.dumps(body).replace(json.dumps(DEEP), DEEP_JSON)
    return getattr(client, method)(path, text, content_type="application/json", **headers)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


def assert_refused(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["code"], body
    return body


def stored_state() -> tuple[Any, ...]:
    return (
        list(Session.objects.values_list("name", "metadata", "config", "max_messages")),
        Message.objects.count(),
        list(Context.objects.values_list("version", flat=True)),
    )


def sessions_path(session: dict[str, Any], *parts: str) -> str:
    return url("sessions", session["id"], *parts)


BAD_VALUES = {"surrogate": LONE, "surrogate key": {LONE: 1}, "deep": DEEP}
SESSION_BODIES = {
    "metadata key": lambda bad: {"metadata": {LONE: "v"}},
    "metadata value": lambda bad: {"metadata": {"k": bad}},
    "custom_settings": lambda bad: {"config": {"custom_settings": {"k": bad}}},
    "provider_config": lambda bad: {"config": {"provider_config": {"k": bad}}},
    "name": lambda bad: {"name": bad},
    "tags": lambda bad: {"tags": [bad]},
}


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=list(BAD_VALUES))
@pytest.mark.parametrize("body", SESSION_BODIES.values(), ids=list(SESSION_BODIES))
def test_unstorable_json_in_a_session_body_is_400(as_alice, body, bad):
    session = create(as_alice)
    before = stored_state()
    assert_refused(post_raw(as_alice, url("sessions"), body(bad)))
    assert_refused(post_raw(as_alice, sessions_path(session), body(bad), "patch"))
    assert stored_state() == before


MESSAGE_BODIES = {
    "content": lambda bad: {"content": f"hi{LONE}" if bad == DEEP else bad},
    "metadata key": lambda bad: {"content": "hi", "metadata": {LONE: 1}},
    "metadata value": lambda bad: {"content": "hi", "metadata": {"k": bad}},
}


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=list(BAD_VALUES))
@pytest.mark.parametrize("body", MESSAGE_BODIES.values(), ids=list(MESSAGE_BODIES))
def test_unstorable_json_in_a_message_is_400(as_alice, body, bad):
    session = create(as_alice)
    before = stored_state()
    assert_refused(post_raw(as_alice, sessions_path(session, "messages"), body(bad)))
    stream = {"HTTP_ACCEPT": "text/event-stream"}
    assert_refused(post_raw(as_alice, sessions_path(session, "messages"), body(bad), **stream))
    assert stored_state() == before


CONTEXT_BODIES = {
    "key": lambda bad: {LONE: 1},
    "value": lambda bad: {"k": bad},
    "section": lambda bad: {"user_context": {"k": bad}},
    "dotted": lambda bad: {"a.b": bad},
}


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=list(BAD_VALUES))
@pytest.mark.parametrize("body", CONTEXT_BODIES.values(), ids=list(CONTEXT_BODIES))
def test_unstorable_json_in_a_context_patch_is_400(as_alice, body, bad):
    session = create(as_alice)
    before = stored_state()
    assert_refused(post_raw(as_alice, sessions_path(session, "context"), body(bad), "patch"))
    assert stored_state() == before


@pytest.mark.parametrize("parts", [limits.MAX_JSON_DEPTH + 1, 5000])
def test_a_dotted_key_deeper_than_the_limit_is_400(as_alice, parts):
    session = create(as_alice)
    path = sessions_path(session, "context")
    assert_refused(post_raw(as_alice, path, {".".join(["k"] * parts): 1}, "patch"))
    assert_refused(post_raw(as_alice, path, {"a.b": nested(limits.MAX_JSON_DEPTH - 1)}, "patch"))
    assert not Context.objects.exists()
    deepest = ".".join(["k"] * (limits.MAX_JSON_DEPTH - 1))
    assert post_raw(as_alice, path, {deepest: 1}, "patch").status_code == 200


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_a_deeply_nested_body_is_400(as_alice, depth):
    body = "[" * depth + "]" * depth
    response = as_alice.post(url("sessions"), body, content_type="application/json")
    assert_refused(response)
    assert not Session.objects.exists()


def test_nesting_up_to_the_limit_is_stored(as_alice):
    # The body is one level (the session object) above its metadata.
    deepest = nested(limits.MAX_JSON_DEPTH - 1)
    assert post_raw(as_alice, url("sessions"), {"metadata": deepest}).status_code == 201
    too_deep = {"metadata": nested(limits.MAX_JSON_DEPTH)}
    assert_refused(post_raw(as_alice, url("sessions"), too_deep))


def test_max_messages_beyond_the_column_is_400(as_alice):
    session = create(as_alice)
    before = stored_state()
    beyond = {"config": {"max_messages": limits.MAX_MAX_MESSAGES + 1}}
    assert_refused(post_raw(as_alice, url("sessions"), beyond))
    assert_refused(post_raw(as_alice, sessions_path(session), beyond, "patch"))
    assert_refused(post_raw(as_alice, url("sessions"), {"config": {"max_messages": 2**64}}))
    assert stored_state() == before
    largest = {"config": {"max_messages": limits.MAX_MAX_MESSAGES}}
    changed = post_raw(as_alice, sessions_path(session), largest, "patch")
    assert changed.status_code == 200
    assert changed.json()["config"]["max_messages"] == limits.MAX_MAX_MESSAGES


def test_max_messages_2147483648_is_400_on_postgresql(as_alice, postgres):
    assert_refused(post_raw(as_alice, url("sessions"), {"config": {"max_messages": 2147483648}}))
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "config",
    [
        {"session_timeout_minutes": 10_000_000_000},
        {"session_timeout_minutes": limits.MAX_TIMEOUT_MINUTES + 1},
        {"auto_archive_after": limits.MAX_AGE_DAYS + 1},
        {"auto_delete_after": 10**30},
        {"max_tokens_per_message": limits.MAX_TOKENS_PER_MESSAGE + 1},
    ],
)
def test_config_numbers_beyond_their_bound_are_400(as_alice, config):
    session = create(as_alice)
    before = stored_state()
    assert_refused(post_raw(as_alice, url("sessions"), {"config": config}))
    assert_refused(post_raw(as_alice, sessions_path(session), {"config": config}, "patch"))
    assert stored_state() == before


def test_the_longest_timeout_still_takes_messages(as_alice):
    config = {"session_timeout_minutes": limits.MAX_TIMEOUT_MINUTES}
    session = create(as_alice, config=config)
    response = post_raw(as_alice, sessions_path(session, "messages"), {"content": "hi"})
    assert response.status_code == 201


def test_a_stored_timeout_too_large_for_a_timedelta_never_times_out(as_alice):
    session = create(as_alice)
    Session.objects.filter(pk=session["id"]).update(config={"session_timeout_minutes": 10**10})
    response = post_raw(as_alice, sessions_path(session, "messages"), {"content": "hi"})
    assert response.status_code == 201
    assert Message.objects.count() == 2


def test_a_session_with_a_stored_timeout_beyond_the_bound_can_still_be_changed(as_alice):
    session = create(as_alice)
    Session.objects.filter(pk=session["id"]).update(config={"session_timeout_minutes": 10**10})
    changed = post_raw(as_alice, sessions_path(session), {"name": "renamed"}, "patch")
    assert changed.status_code == 200, changed.content
    stored = Session.objects.get(pk=session["id"])
    assert stored.name == "renamed"
    assert stored.config["session_timeout_minutes"] == limits.MAX_TIMEOUT_MINUTES


def test_extending_beyond_the_ttl_cap_is_400_and_keeps_the_expiry(as_alice):
    session = create(as_alice, ttl_seconds=60)
    path = sessions_path(session, "extend")
    first = post_raw(as_alice, path, {"seconds": limits.MAX_TTL_SECONDS - 120})
    assert first.status_code == 200
    kept = Session.objects.get(pk=session["id"]).expires_at
    for _ in range(3):
        assert_refused(post_raw(as_alice, path, {"seconds": limits.MAX_TTL_SECONDS}))
    assert Session.objects.get(pk=session["id"]).expires_at == kept


def test_extending_a_session_without_expiry_by_the_cap_is_allowed(as_alice):
    session = create(as_alice)
    Session.objects.filter(pk=session["id"]).update(expires_at=None)
    path = sessions_path(session, "extend")
    assert post_raw(as_alice, path, {"seconds": limits.MAX_TTL_SECONDS}).status_code == 200
    expires_at = Session.objects.get(pk=session["id"]).expires_at
    assert expires_at is not None
    assert expires_at - timezone.now() <= timedelta(seconds=limits.MAX_TTL_SECONDS)


def cursor(querystring: str) -> str:
    return base64.b64encode(querystring.encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        "cD1hYmM=",  # p=abc
        cursor("p=²"),
        cursor("p=-1"),
        cursor("p=1.5"),
        cursor(f"p={2**64}"),
        cursor("p=" + "9" * 5000),
        cursor("o=²"),
        cursor("r=²"),
        "garbage",
        "é",
    ],
)
def test_a_malformed_cursor_is_400(as_alice, value):
    session = create(as_alice)
    post_raw(as_alice, sessions_path(session, "messages"), {"content": "hi"})
    response = as_alice.get(sessions_path(session, "messages"), {"cursor": value})
    assert assert_refused(response)["code"] == "invalid_cursor"


def test_a_cursor_the_api_made_still_pages(as_alice, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "API_PAGE_SIZE": 1}
    session = create(as_alice)
    post_raw(as_alice, sessions_path(session, "messages"), {"content": "hi"})
    page = as_alice.get(sessions_path(session, "messages")).json()
    following = as_alice.get(page["next"])
    assert following.status_code == 200 and following.json()["results"][0]["seq"] == 2


@pytest.mark.parametrize("if_match", ['"²"', "²", ARABIC_ONE, '"1²"', '"' + "9" * 5000 + '"', '""'])
def test_an_if_match_that_is_not_ascii_digits_is_412(as_alice, if_match):
    session = create(as_alice)
    path = sessions_path(session, "context")
    response = post_raw(as_alice, path, {"a": 1}, "patch", HTTP_IF_MATCH=if_match)
    assert assert_refused(response, 412)["code"] == "context_version_conflict"
    assert not Context.objects.exists()
