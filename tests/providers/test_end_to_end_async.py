"""The async Python API (``sessions_app.aio``) on the fake LLM server: native async SDK clients
(the SDKs say so in ``x-stainless-async``), streamed deltas, and a broken stream."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from sessions_app import aio
from sessions_app.exceptions import ProviderError
from sessions_app.models import Message, MessageStatus
from sessions_app.providers import TextDelta
from sessions_app.testing import Usage, slow_stream, stream_error
from tests.support.api import url

pytestmark = pytest.mark.django_db

USAGE = Usage(30, 6, cached_input_tokens=10)


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


def test_send_message_uses_the_async_client(fake_providers, case):
    fake_providers.usage = USAGE

    async def scenario():
        session = await aio.SessionManager().create_session("u1", case.provider, case.model)
        first = await session.send_message("one")
        second = await session.send_message("two")
        return first, second

    first, second = run(scenario)
    assert (first.content, second.content) == ("Echo: one", "Echo: two")
    assert (second.input_tokens, second.cached_input_tokens) == (30, 10)
    sent = fake_providers.requests_for(case.kind)
    assert len(sent) == 2
    assert all(r.headers.get("x-stainless-async", "false") != "false" for r in sent)


def test_stream_message_yields_deltas_then_the_stored_reply(fake_providers, case):
    fake_providers.script(slow_stream(0.02))

    async def scenario():
        session = await aio.SessionManager().create_session("u1", case.provider, case.model)
        return [event async for event in session.stream_message("stream this")]

    events = run(scenario)
    user, *deltas, reply = events
    assert isinstance(user, Message) and user.content == "stream this"
    assert all(isinstance(delta, TextDelta) for delta in deltas)
    assert "".join(delta.text for delta in deltas) == reply.content == "Echo: stream this"
    assert reply.status == MessageStatus.COMPLETE and reply.time_to_first_token_ms >= 20
    [sent] = fake_providers.requests_for(case.kind)
    assert sent.body["stream"] is True and sent.headers["x-stainless-async"] != "false"


def test_a_broken_async_stream_raises_and_keeps_what_arrived(fake_providers, case):
    fake_providers.script(stream_error(after=2))
    received = []

    async def scenario():
        session = await aio.SessionManager().create_session("u1", case.provider, case.model)
        async for event in session.stream_message("a b c"):
            received.append(event)
        return session.session_id

    with pytest.raises(ProviderError) as raised:
        run(scenario)
    assert raised.value.error_code in {"stream_interrupted", "unavailable"}
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["Echo: ", "a "]
    reply = Message.objects.get(role="assistant")
    assert (reply.content, reply.status) == ("Echo: a ", MessageStatus.INCOMPLETE)


def test_an_sse_turn_under_asgi_streams_through_the_async_client(fake_providers, case, alice):
    token = Token.objects.create(user=alice).key
    fake_providers.script(slow_stream(0.02))

    async def scenario():
        client = AsyncClient()
        auth = {"Authorization": f"Token {token}"}
        created = await client.post(
            url("sessions"), {"provider": case.provider, "model": case.model},
            content_type="application/json", headers=auth,
        )  # fmt: skip
        assert created.status_code == 201, created.content
        response = await client.post(
            url("sessions", created.json()["id"], "messages"),
            {"content": "over asgi"},
            content_type="application/json",
            headers={**auth, "Accept": "text/event-stream"},
        )
        return b"".join([chunk async for chunk in response.streaming_content]).decode()

    body = run(scenario)
    frames = [block.split("\n", 1)[0] for block in body.split("\n\n") if block]
    assert frames[0] == "event: message" and frames[-1] == "event: done"
    assert frames.count("event: delta") == 3
    reply = Message.objects.get(role="assistant")
    assert reply.content == "Echo: over asgi" and reply.time_to_first_token_ms >= 20
    [sent] = fake_providers.requests_for(case.kind)
    assert sent.body["stream"] is True and sent.headers["x-stainless-async"] != "false"
