"""Chat Completions mode: our history each turn, against any OpenAI-compatible server."""

from __future__ import annotations

import asyncio

import pytest

from sessions_app.exceptions import ProviderError
from sessions_app.providers.base import Completion, TextDelta
from sessions_app.providers.openai import OpenAIProvider
from sessions_app.testing import FakeLLMServer, stream_drop, stream_error
from tests.providers.openai_wire import Wire, provider, request


def test_chat_mode_sends_the_system_prompt_and_the_whole_history():
    wire = Wire()
    chat = provider(wire, mode="chat", max_output_tokens=64)

    completion = chat.complete(request("hi", "hello", "again", system="Be brief."))

    body = wire.bodies("/v1/chat/completions")[0]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    assert body["max_completion_tokens"] == 64
    assert completion.text == "Hi from chat"
    assert (completion.input_tokens, completion.output_tokens) == (50, 7)
    assert (completion.cached_input_tokens, completion.reasoning_tokens) == (32, 2)
    assert completion.provider_state == {}
    assert chat.sends_history(request("x")) is True


def test_chat_stream_asks_for_usage_and_ends_with_it():
    wire = Wire()
    events = list(provider(wire, mode="chat").stream(request("hi")))

    assert wire.bodies("/v1/chat/completions")[0]["stream_options"] == {"include_usage": True}
    assert events[:-1] == [TextDelta("Hi "), TextDelta("there")]
    final = events[-1]
    assert isinstance(final, Completion)
    assert (final.text, final.finish_reason) == ("Hi there", "length")
    assert (final.input_tokens, final.output_tokens) == (9, 4)


@pytest.fixture
def server():
    with FakeLLMServer() as fake:
        yield fake


def test_a_compatible_server_by_base_url_needs_no_key(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    chat = OpenAIProvider(base_url=server.openai_url, mode="chat", timeout=5, max_output_tokens=9)

    completion = chat.complete(request("ping"))
    streamed = list(chat.stream(request("ping", "Echo: ping", "pong")))

    assert completion.text == "Echo: ping"
    assert "".join(e.text for e in streamed if isinstance(e, TextDelta)) == "Echo: pong"
    bodies = [r.body for r in server.requests_for("chat")]
    # A compatible server is sent the classic max_tokens.
    assert bodies[0]["max_tokens"] == 9 and "max_completion_tokens" not in bodies[0]
    assert chat.capabilities()["configured"] is True


def test_async_chat_against_a_compatible_server(server):
    chat = OpenAIProvider(api_key="sk-local-0000000", base_url=server.openai_url, mode="chat")

    async def run() -> tuple[Completion, list[object]]:
        return await chat.acomplete(request("hey")), [e async for e in chat.astream(request("yo"))]

    completion, events = asyncio.run(run())
    assert completion.text == "Echo: hey"
    final = events[-1]
    assert isinstance(final, Completion)
    assert (final.text, final.provider_state) == ("Echo: yo", {})
    assert final.input_tokens > 0 and final.output_tokens > 0


@pytest.mark.parametrize(
    ("step", "code"),
    [(stream_error(after=1), "unavailable"), (stream_drop(after=1), "stream_interrupted")],
    ids=["server_error frame", "drop"],
)
def test_a_broken_chat_stream_raises_after_the_deltas(server, step, code):
    server.script(step)
    chat = OpenAIProvider(api_key="sk-local-0000000", base_url=server.openai_url, mode="chat")
    seen = []

    with pytest.raises(ProviderError) as caught:
        seen.extend(chat.stream(request("one two three")))

    assert seen and all(isinstance(event, TextDelta) for event in seen)
    assert caught.value.error_code == code
