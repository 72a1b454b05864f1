"""Messages endpoints: send (JSON and Server-Sent Events), history, one message, clear."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import Message, Session
from sessions_app.providers import register_provider, unregister_provider
from sessions_app.providers.mock import MockProvider
from tests.support.api import create, url

MESSAGE_FIELDS = {
    "id", "session", "seq", "role", "content", "created_at", "metadata", "provider_message_id",
    "input_tokens", "output_tokens", "processing_time_ms", "status", "cached_input_tokens",
    "cache_write_tokens", "reasoning_tokens", "time_to_first_token_ms", "estimated_cost",
    "cost_status",
}  # fmt: skip
STREAM = {"HTTP_ACCEPT": "text/event-stream"}


@pytest.fixture
def failing_provider():
    register_provider("broken", MockProvider, error_rate=1.0)
    yield "broken"
    unregister_provider("broken")


def send(client, session_id, content="hello", headers=None, **fields):
    return client.post(
        url("sessions", session_id, "messages"),
        {"content": content, **fields},
        format="json",
        **(headers or {}),
    )


def events_of(response) -> list[tuple[str, object]]:
    """(event, data) pairs of a Server-Sent Events body."""
    text = b"".join(response.streaming_content).decode()
    pairs = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        pairs.append((lines["event"], json.loads(lines["data"])))
    return pairs


def test_a_user_message_gets_the_reply(as_alice):
    session = create(as_alice)
    response = send(as_alice, session["id"], "hello", metadata={"lang": "en"})
    assert response.status_code == 201
    body = response.json()
    message, reply = body["message"], body["reply"]
    assert set(message) == set(reply) == MESSAGE_FIELDS
    assert (message["seq"], message["role"], message["content"]) == (1, "user", "hello")
    assert message["metadata"] == {"lang": "en"} and message["session"] == session["id"]
    assert (reply["seq"], reply["role"], reply["status"]) == (2, "assistant", "complete")
    assert reply["content"] == "Mock response to: hello"
    assert reply["output_tokens"] > 0 and reply["processing_time_ms"] is not None
    counted = as_alice.get(url("sessions", session["id"])).json()
    assert counted["message_count"] == 2 and counted["output_tokens"] == reply["output_tokens"]


def test_a_system_message_gets_no_reply(as_alice):
    session = create(as_alice)
    body = send(as_alice, session["id"], "be brief", role="system").json()
    assert body["reply"] is None and body["message"]["role"] == "system"
    assert Message.objects.filter(session_id=session["id"]).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"content": "hi", "role": "assistant"},
        {"content": "hi", "role": "wizard"},
        {"content": ""},
        {"content": "   "},
        {"content": 42},
        {"content": None},
        {"content": "a\x00b"},
        {"content": "hi", "metadata": "x"},
        {"content": "hi", "extra": 1},
        {},
    ],
)
def test_bad_messages_are_400_and_store_nothing(as_alice, body):
    session = create(as_alice)
    response = as_alice.post(url("sessions", session["id"], "messages"), body, format="json")
    assert response.status_code == 400, response.content
    assert not Message.objects.exists()


def test_content_over_the_limit_is_413(as_alice, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_MESSAGE_CHARS": 100}
    session = create(as_alice)
    response = send(as_alice, session["id"], "x" * 101)
    assert response.status_code == 413 and response.json()["code"] == "content_too_long"
    assert send(as_alice, session["id"], "x" * 100).status_code == 201


def test_a_body_over_djangos_upload_limit_is_413(as_alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    session = create(as_alice)
    response = send(as_alice, session["id"], "x" * 2000)
    assert response.status_code == 413
    assert not Message.objects.exists()


def test_provider_failure_is_502_and_keeps_the_user_message(as_alice, failing_provider):
    session = create(as_alice, provider=failing_provider)
    response = send(as_alice, session["id"], "anyone there?")
    assert response.status_code == 502
    assert response.json()["code"] == "provider_error" and response.json()["detail"]
    kept = Message.objects.get(session_id=session["id"])
    assert (kept.role, kept.content) == ("user", "anyone there?")
    stored = Session.objects.get(pk=session["id"])
    assert (stored.provider_errors, stored.pending_replies) == (1, 0)


def test_max_messages_is_409(as_alice):
    session = create(as_alice, config={"max_messages": 2})
    assert send(as_alice, session["id"]).status_code == 201
    refused = send(as_alice, session["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "message_limit_reached"


def test_the_pipelines_rate_limit_is_429_with_retry_after(as_alice, settings):
    settings.SESSIONS_APP = {
        **settings.SESSIONS_APP,
        "MIDDLEWARE": [("sessions_app.pipeline.RateLimitMiddleware", {"max_messages": 1})],
    }
    session = create(as_alice)
    assert send(as_alice, session["id"]).status_code == 201
    limited = send(as_alice, session["id"])
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1


def test_history_is_ascending_and_cursor_paginated(as_alice, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "API_PAGE_SIZE": 3}
    session = create(as_alice)
    for i in range(4):
        send(as_alice, session["id"], f"m{i}")
    first = as_alice.get(url("sessions", session["id"], "messages")).json()
    assert set(first) == {"next", "previous", "results"}
    assert [m["seq"] for m in first["results"]] == [1, 2, 3]
    seen = [m["seq"] for m in first["results"]]
    page = first
    while page["next"]:
        page = as_alice.get(page["next"]).json()
        seen += [m["seq"] for m in page["results"]]
    assert seen == list(range(1, 9))
    sized = as_alice.get(url("sessions", session["id"], "messages"), {"page_size": 5}).json()
    assert len(sized["results"]) == 5
    broken = as_alice.get(url("sessions", session["id"], "messages"), {"cursor": "garbage"})
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_cursor"


def test_history_filters(as_alice):
    session = create(as_alice)
    send(as_alice, session["id"], "one")
    send(as_alice, session["id"], "rule", role="system")
    history = url("sessions", session["id"], "messages")
    users = as_alice.get(history, {"role": "user"}).json()["results"]
    assert [m["content"] for m in users] == ["one"]
    system = as_alice.get(history, {"role": "system"}).json()["results"]
    assert [m["content"] for m in system] == ["rule"]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert as_alice.get(history, {"since": later}).json()["results"] == []
    assert as_alice.get(history, {"role": "robot"}).status_code == 400
    assert as_alice.get(history, {"since": "tuesday"}).status_code == 400


def test_one_message_and_clearing(as_alice):
    session = create(as_alice)
    other = create(as_alice)
    reply = send(as_alice, session["id"]).json()["reply"]
    one = as_alice.get(url("sessions", session["id"], "messages", reply["id"]))
    assert one.status_code == 200 and one.json() == reply
    assert as_alice.get(url("sessions", other["id"], "messages", reply["id"])).status_code == 404
    assert as_alice.get(url("sessions", session["id"], "messages", "nope")).status_code == 404
    assert as_alice.delete(url("sessions", session["id"], "messages")).status_code == 204
    assert as_alice.get(url("sessions", session["id"], "messages")).json()["results"] == []
    assert as_alice.get(url("sessions", session["id"])).json()["message_count"] == 0


def test_streaming_sends_message_deltas_then_done(as_alice):
    session = create(as_alice)
    response = send(as_alice, session["id"], "stream me", headers=STREAM)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert set(response["Cache-Control"].split(", ")) == {"no-cache", "no-store"}
    events = events_of(response)
    names = [name for name, _ in events]
    assert names[0] == "message" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"} and len(names) > 3
    user, done = events[0][1], events[-1][1]
    assert user["content"] == "stream me" and user["role"] == "user"
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert text == done["content"] == "Mock response to: stream me"
    assert done["status"] == "complete"
    stored = as_alice.get(url("sessions", session["id"], "messages")).json()["results"]
    assert [m["id"] for m in stored] == [user["id"], done["id"]]


def test_a_failing_provider_streams_an_error_event(as_alice, failing_provider):
    session = create(as_alice, provider=failing_provider)
    events = events_of(send(as_alice, session["id"], "hi", headers=STREAM))
    assert [name for name, _ in events] == ["message", "error"]
    assert events[1][1]["code"] == "provider_error"
    assert Message.objects.filter(session_id=session["id"]).count() == 1


def test_refusals_before_a_stream_are_plain_json(as_alice):
    session = create(as_alice)
    as_alice.post(url("sessions", session["id"], "archive"))
    refused = send(as_alice, session["id"], "hi", headers=STREAM)
    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["code"] == "invalid_state"
    empty = send(as_alice, create(as_alice)["id"], "", headers=STREAM)
    assert empty.status_code == 400 and empty["Content-Type"] == "application/json"


@pytest.mark.django_db(transaction=True)  # closing a response may close the connection
def test_a_stream_closed_early_stores_the_partial_reply(as_alice):
    session = create(as_alice)
    response = send(as_alice, session["id"], "one two three four five", headers=STREAM)
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)  # the user message and the first delta
    response.close()  # what a WSGI server does when the client goes away
    reply = Message.objects.get(session_id=session["id"], role="assistant")
    assert reply.status == "incomplete"
    assert reply.content and "Mock response to: one two three four five".startswith(reply.content)
    assert Session.objects.get(pk=session["id"]).pending_replies == 0
