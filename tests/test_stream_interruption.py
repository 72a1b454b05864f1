"""A provider stream that breaks after some text: the text is kept as an incomplete reply, the
call counts as failed, the error hook fires once and the error names the stored reply."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from sessions_app import aio
from sessions_app.exceptions import ProviderError
from sessions_app.models import Message, MessageStatus, Session
from sessions_app.providers import (
    Completion,
    CompletionRequest,
    Provider,
    StreamEvent,
    TextDelta,
    register_provider,
    unregister_provider,
)
from sessions_app.services.representations import message_representation
from tests.support.api import client_for, create, url

STREAM = {"HTTP_ACCEPT": "text/event-stream"}
WORKS_FOR = 0.02  # seconds a breaking stream works before it breaks


def _broken() -> ProviderError:
    return ProviderError(
        "upstream overloaded", provider="breaking", error_code="unavailable", retry_after=2.5
    )


class BreakingProvider(Provider):
    """Streams two deltas, works a while, then fails; ``complete`` answers whole. It knows
    the price of any usage, even none."""

    name = "breaking"
    fallback_model = "break-1"
    ends_quietly = False  # end without a Completion instead of raising

    def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="whole", model=request.model, input_tokens=3, output_tokens=1)

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        yield TextDelta("Hello ")
        yield TextDelta("wor")
        time.sleep(WORKS_FOR)
        if not self.ends_quietly:
            raise _broken()

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        yield TextDelta("Hello ")
        yield TextDelta("wor")
        await asyncio.sleep(WORKS_FOR)
        if not self.ends_quietly:
            raise _broken()

    def price(self, completion: Completion, requested_model: str | None = None) -> Decimal:
        return Decimal("0.01")


class FailsAtOnce(BreakingProvider):
    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        raise _broken()  # a plain function: fails before returning an iterator


@pytest.fixture
def breaking():
    provider = register_provider("breaking", BreakingProvider)
    yield provider
    unregister_provider("breaking")


@pytest.fixture
def errors(manager: Any) -> list[Any]:
    seen: list[Any] = []
    manager.add_lifecycle_hook("error", lambda event, **data: seen.append(data["error"]))
    return seen


def assert_stored_as_incomplete(error: ProviderError, session_id: str) -> Message:
    reply = Message.objects.get(session_id=session_id, role="assistant")
    assert (reply.content, reply.status) == ("Hello wor", MessageStatus.INCOMPLETE)
    assert reply.metadata == {"finish_reason": "error", "error": error.error_code}
    assert error.details == {"reply_id": str(reply.pk)}
    session = Session.objects.get(pk=session_id)
    counters = (session.provider_calls, session.provider_errors, session.pending_replies)
    assert counters == (1, 1, 0)
    assert (session.message_count, session.assistant_message_count) == (2, 1)
    assert_cost_unknown(reply, session)
    # A failed call's time is not averaged in (the average is over calls that did not fail).
    assert session.total_response_time_ms == 0
    return reply


def assert_cost_unknown(reply: Message, session: Session) -> None:
    """The provider billed tokens whose usage never arrived: the cost is unknown, not 0."""
    assert reply.estimated_cost is None
    assert message_representation(reply)["cost_status"] == "unknown"
    assert (session.priced_replies, session.unpriced_replies) == (0, 1)


def test_a_sync_stream_that_breaks_keeps_the_text_and_raises(manager, breaking, errors):
    session = manager.create_session("u1", provider="breaking")
    received: list[Any] = []
    with pytest.raises(ProviderError) as raised:
        for event in session.stream_message("hi"):
            received.append(event)
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["Hello ", "wor"]
    assert raised.value.error_code == "unavailable"
    assert_stored_as_incomplete(raised.value, session.session_id)
    assert errors == [raised.value]
    # The next turn sends the kept text as history, like any reply.
    assert session.send_message("again").content == "whole"


def test_an_async_stream_that_breaks_keeps_the_text_and_raises(db, breaking):
    received: list[Any] = []

    async def scenario() -> str:
        session = await aio.SessionManager().create_session("u1", provider="breaking")
        try:
            async for event in session.stream_message("hi"):
                received.append(event)
        finally:
            session_id = session.session_id
        return session_id

    with pytest.raises(ProviderError) as raised:
        async_to_sync(scenario)()
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["Hello ", "wor"]
    reply = Message.objects.get(role="assistant")
    assert_stored_as_incomplete(raised.value, str(reply.session_id))


def test_a_stream_that_ends_without_its_completion_is_interrupted(manager, breaking, errors):
    breaking.ends_quietly = True
    session = manager.create_session("u1", provider="breaking")
    with pytest.raises(ProviderError) as raised:
        list(session.stream_message("hi"))
    assert raised.value.error_code == "stream_interrupted"
    assert_stored_as_incomplete(raised.value, session.session_id)
    assert len(errors) == 1


def test_a_failure_before_any_text_stores_no_reply(manager, errors):
    register_provider("breaking", FailsAtOnce)
    try:
        session = manager.create_session("u1", provider="breaking")
        with pytest.raises(ProviderError) as raised:
            list(session.stream_message("hi"))
    finally:
        unregister_provider("breaking")
    assert raised.value.details == {}
    assert not Message.objects.filter(role="assistant").exists()
    stored = Session.objects.get(pk=session.session_id)
    assert (stored.provider_calls, stored.provider_errors, stored.pending_replies) == (1, 1, 0)
    assert errors == [raised.value]


def test_ctrl_c_while_streaming_keeps_the_text_and_frees_the_slot(manager):
    class Interrupted(BreakingProvider):
        def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
            yield TextDelta("Hello ")
            raise KeyboardInterrupt

    register_provider("breaking", Interrupted)
    try:
        session = manager.create_session("u1", provider="breaking")
        with pytest.raises(KeyboardInterrupt):
            list(session.stream_message("hi"))
    finally:
        unregister_provider("breaking")
    reply = Message.objects.get(role="assistant")
    assert (reply.content, reply.status) == ("Hello ", MessageStatus.INCOMPLETE)
    assert Session.objects.get(pk=session.session_id).pending_replies == 0


def frames_of(body: str) -> list[tuple[str, Any]]:
    pairs = []
    for block in filter(None, body.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        pairs.append((lines["event"], json.loads(lines["data"])))
    return pairs


def assert_sse_error_after_deltas(frames: list[tuple[str, Any]]) -> None:
    kinds = [kind for kind, _ in frames]
    assert kinds == ["message", "delta", "delta", "error"]
    error = frames[-1][1]
    assert (error["code"], error["reason"], error["provider"]) == (
        "provider_error",
        "unavailable",
        "breaking",
    )
    reply = Message.objects.get(role="assistant")
    assert error["details"] == {"reply_id": str(reply.pk)}
    assert (reply.content, reply.status) == ("Hello wor", MessageStatus.INCOMPLETE)


def test_sse_sends_the_deltas_then_the_error(django_user_model, breaking):
    client = client_for(django_user_model.objects.create_user("alice"))
    session = create(client, provider="breaking")
    response = client.post(
        url("sessions", session["id"], "messages"), {"content": "hi"}, format="json", **STREAM
    )
    assert response.status_code == 200
    assert_sse_error_after_deltas(frames_of(b"".join(response.streaming_content).decode()))


@pytest.mark.django_db(transaction=True)
def test_sse_under_asgi_sends_the_deltas_then_the_error(django_user_model, breaking):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=django_user_model.objects.create_user("alice")).key

    async def scenario() -> str:
        client, auth = AsyncClient(), {"Authorization": f"Token {token}"}
        created = await client.post(
            url("sessions"), {"provider": "breaking"}, content_type="application/json",
            headers=auth,
        )  # fmt: skip
        response = await client.post(
            url("sessions", created.json()["id"], "messages"),
            {"content": "hi"},
            content_type="application/json",
            headers={**auth, "Accept": "text/event-stream"},
        )
        return b"".join([chunk async for chunk in response.streaming_content]).decode()

    assert_sse_error_after_deltas(frames_of(async_to_sync(scenario)()))


def test_a_json_turn_answers_the_reason_and_retry_after(django_user_model):
    class Refusing(BreakingProvider):
        def complete(self, request: CompletionRequest) -> Completion:
            raise ProviderError(
                "slow down", provider="breaking", error_code="rate_limited", retry_after=2.2
            )

    register_provider("breaking", Refusing)
    try:
        client = client_for(django_user_model.objects.create_user("alice"))
        session = create(client, provider="breaking")
        response = client.post(
            url("sessions", session["id"], "messages"), {"content": "hi"}, format="json"
        )
    finally:
        unregister_provider("breaking")
    assert response.status_code == 502
    assert response["Retry-After"] == "3"
    body = response.json()
    assert (body["code"], body["reason"], body["provider"]) == (
        "provider_error",
        "rate_limited",
        "breaking",
    )


# --- provider state across an interrupted reply ----------------------------------------------


class Stateful(BreakingProvider):
    """Whole replies open conversation "c1"; streams break, naming ``opened`` if set."""

    opened: str | None = None

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.states: list[dict[str, Any]] = []

    def complete(self, request: CompletionRequest) -> Completion:
        self.states.append(request.provider_state)
        return Completion(text="ok", model=request.model, provider_state={"conversation_id": "c1"})

    def cleanup_resources(self, session_id: str, state: dict[str, Any]) -> None:
        """It keeps conversations (so has one to release): its state is looked for further back."""

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        self.states.append(request.provider_state)
        yield TextDelta("par")
        error = _broken()
        if self.opened:
            error.context["provider_state"] = {"conversation_id": self.opened}
        raise error


@pytest.fixture
def stateful():
    provider = register_provider("breaking", Stateful)
    yield provider
    unregister_provider("breaking")


def test_a_reply_cut_short_keeps_the_conversation_of_the_one_before(manager, stateful):
    from sessions_app.services.provider_state import latest_provider_state

    session = manager.create_session("u1", provider="breaking")
    session.send_message("one")
    with pytest.raises(ProviderError):
        list(session.stream_message("two"))
    session.send_message("three")
    assert stateful.states == [{}, {"conversation_id": "c1"}, {"conversation_id": "c1"}]
    assert latest_provider_state(session.record) == {"conversation_id": "c1"}


def test_a_reply_cut_short_stores_the_state_its_provider_reported(manager, stateful):
    stateful.opened = "c2"
    session = manager.create_session("u1", provider="breaking")
    with pytest.raises(ProviderError):
        list(session.stream_message("one"))
    reply = Message.objects.get(role="assistant")
    assert reply.provider_metadata["state"] == {"conversation_id": "c2"}
    session.send_message("two")
    assert stateful.states[-1] == {"conversation_id": "c2"}


def test_an_old_state_beyond_the_history_limit_is_found(manager, stateful, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "HISTORY_LIMIT": 2}
    session = manager.create_session("u1", provider="breaking")
    session.send_message("one")  # state c1
    for content in ("two", "three"):
        with pytest.raises(ProviderError):
            list(session.stream_message(content))
    session.send_message("four")
    assert stateful.states[-1] == {"conversation_id": "c1"}


def test_a_stateless_provider_costs_no_extra_query_for_an_old_state(
    manager, breaking, settings, monkeypatch
):
    from sessions_app.services import provider_requests

    looked_up: list[Any] = []
    monkeypatch.setattr(provider_requests, "latest_provider_state", looked_up.append)
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "HISTORY_LIMIT": 2}
    session = manager.create_session("u1", provider="breaking")
    for content in ("one", "two", "three"):
        session.send_message(content)
    assert looked_up == []  # its replies keep no state, and it keeps none anywhere else


# --- a consumer that leaves, and a provider stream that fails to close -----------------------


class Watched(BreakingProvider):
    """Streams forever; records when its stream is closed and whether a reply was stored then."""

    closed: list[bool]
    fails_to_close = False

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        try:
            while True:
                yield TextDelta("Hello ")
        finally:
            self.closed.append(Message.objects.filter(role="assistant").exists())

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        try:
            while True:
                yield TextDelta("Hello ")
        finally:
            self.closed.append(False)
            if self.fails_to_close:
                raise RuntimeError("the connection was already gone")


@pytest.fixture
def watched():
    provider = register_provider("breaking", Watched)
    provider.closed = []
    yield provider
    unregister_provider("breaking")


def assert_kept_as_unpriced_partial(session_id: str) -> None:
    reply = Message.objects.get(session_id=session_id, role="assistant")
    assert (reply.content, reply.status) == ("Hello ", MessageStatus.INCOMPLETE)
    session = Session.objects.get(pk=session_id)
    assert_cost_unknown(reply, session)
    assert (session.provider_calls, session.provider_errors, session.pending_replies) == (1, 0, 0)


def test_a_sync_consumer_leaving_closes_the_provider_stream_first(manager, watched):
    session = manager.create_session("u1", provider="breaking")
    events = session.stream_message("hi")
    assert isinstance(next(events), Message)
    assert next(events).text == "Hello "
    events.close()
    # Closed (releasing its HTTP response) before the partial reply was stored, not later.
    assert watched.closed == [False]
    assert_kept_as_unpriced_partial(session.session_id)


def test_an_async_provider_stream_that_fails_to_close_still_keeps_the_partial(db, watched):
    watched.fails_to_close = True

    async def scenario() -> str:
        session = await aio.SessionManager().create_session("u1", provider="breaking")
        events = session.stream_message("hi")
        async for event in events:
            if isinstance(event, TextDelta):
                break
        await events.aclose()
        return session.session_id

    session_id = async_to_sync(scenario)()
    assert watched.closed == [False]
    assert_kept_as_unpriced_partial(session_id)


class Slow(BreakingProvider):
    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        yield TextDelta("first")
        await asyncio.sleep(30)
        yield Completion(text="first", model=request.model, input_tokens=1, output_tokens=1)


@pytest.mark.django_db(transaction=True)
def test_an_asgi_client_leaving_mid_stream_keeps_the_partial_reply(django_user_model):
    from django.core.asgi import get_asgi_application
    from rest_framework.authtoken.models import Token

    register_provider("breaking", Slow)
    token = Token.objects.create(user=django_user_model.objects.create_user("alice")).key
    auth = f"Token {token}"

    async def scenario() -> tuple[str, list[bytes]]:
        created = await AsyncClient().post(
            url("sessions"), {"provider": "breaking"}, content_type="application/json",
            headers={"Authorization": auth},
        )  # fmt: skip
        session_id = created.json()["id"]
        body = json.dumps({"content": "hi"}).encode()
        got_delta, bodies, requested = asyncio.Event(), [], False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": body, "more_body": False}
            await got_delta.wait()
            return {"type": "http.disconnect"}  # the client goes away after the first delta

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                bodies.append(message.get("body", b""))
                if b"event: delta" in message.get("body", b""):
                    got_delta.set()

        headers = [
            (b"authorization", auth.encode()),
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": url("sessions", session_id, "messages"),
            "raw_path": b"", "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("testserver", 80),
        }  # fmt: skip
        await asyncio.wait_for(get_asgi_application()(scope, receive, send), 10)
        return session_id, bodies

    try:
        session_id, bodies = async_to_sync(scenario)()
    finally:
        unregister_provider("breaking")
    assert b"event: delta" in b"".join(bodies) and b"event: done" not in b"".join(bodies)
    reply = Message.objects.get(session_id=session_id, role="assistant")
    assert (reply.content, reply.status) == ("first", MessageStatus.INCOMPLETE)
    session = Session.objects.get(pk=session_id)
    assert_cost_unknown(reply, session)
    assert session.pending_replies == 0


def test_the_schema_documents_retry_after_and_the_error_details():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    path = next(path for path in schema["paths"] if path.endswith("/messages/"))
    answers = schema["paths"][path]["post"]["responses"]
    for status in ("429", "502"):
        assert "Retry-After" in answers[status]["headers"], status
    assert "details" in schema["components"]["schemas"]["ErrorOutput"]["properties"]
