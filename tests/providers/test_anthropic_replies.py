"""What the Anthropic adapter makes of the answers: replies and streams, sync and async, usage
with cache tokens, token counting and failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from asgiref.sync import async_to_sync

from sessions_app.exceptions import ProviderError
from sessions_app.providers.anthropic import AnthropicProvider
from sessions_app.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    StreamEvent,
    TextDelta,
)
from sessions_app.testing import FakeLLMServer, stream_drop
from tests.providers.anthropic_wire import (
    KEY,
    MODEL,
    Wire,
    error,
    frame,
    message,
    sse,
    stream_frames,
)

CACHED_USAGE = {
    "input_tokens": 50,
    "output_tokens": 7,
    "cache_read_input_tokens": 900,
    "cache_creation_input_tokens": 100,
}
REQUEST = CompletionRequest(
    model=MODEL,
    messages=[ChatMessage("user", "Hi"), ChatMessage("assistant", "Yo"), ChatMessage("user", "?")],
    system="Be kind.",
)


def collect(events: Iterator[StreamEvent]) -> tuple[list[str], Completion]:
    items = list(events)
    *deltas, last = items
    assert isinstance(last, Completion)
    assert all(isinstance(delta, TextDelta) for delta in deltas)
    return [delta.text for delta in deltas if isinstance(delta, TextDelta)], last


async def acollect(events: AsyncIterator[StreamEvent]) -> tuple[list[str], Completion]:
    return collect(iter([event async for event in events]))


# -- whole replies -----------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_reply_with_cache_tokens(asynchronous: bool) -> None:
    wire = Wire(message("Fine, thanks.", usage=CACHED_USAGE, message_id="msg_42"))
    provider = wire.provider()
    if asynchronous:
        completion = async_to_sync(provider.acomplete)(REQUEST)
    else:
        completion = provider.complete(REQUEST)
    assert completion.text == "Fine, thanks."
    assert (completion.model, completion.provider_message_id) == (MODEL, "msg_42")
    assert completion.input_tokens == 50 + 900 + 100  # ours include the cache
    assert (completion.cached_input_tokens, completion.cache_write_tokens) == (900, 100)
    assert (completion.output_tokens, completion.finish_reason) == (7, "stop")
    assert completion.provider_state == {}
    assert wire.requests[0].headers["x-stainless-async"] != str(not asynchronous).lower()


def test_the_price_counts_cache_reads_and_writes_at_their_rates() -> None:
    completion = Wire(message(usage=CACHED_USAGE)).provider().complete(REQUEST)
    provider = AnthropicProvider(api_key=KEY)
    # claude-sonnet-4-5 per million: input $3, cache read $0.30, cache write $3.75, output $15.
    expected = (50 * 3 + 900 * Decimal("0.3") + 100 * Decimal("3.75") + 7 * 15) / 1_000_000
    assert provider.price(completion) == expected
    unknown = Completion(text="", model="claude-nonexistent-9", input_tokens=5)
    assert provider.price(unknown) is None


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [("end_turn", "stop"), ("max_tokens", "length"), ("refusal", "refusal")],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    completion = Wire(message(stop_reason=stop_reason)).provider().complete(REQUEST)
    assert completion.finish_reason == finish


def test_thinking_tokens_are_reasoning_tokens() -> None:
    usage = {
        "input_tokens": 5,
        "output_tokens": 40,
        "output_tokens_details": {"thinking_tokens": 30},
    }
    completion = Wire(message(usage=usage)).provider().complete(REQUEST)
    assert (completion.output_tokens, completion.reasoning_tokens) == (40, 30)


# -- streams -------------------------------------------------------------------------------------


def streamed_wire() -> Wire:
    usage_start = {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 300}
    frames = stream_frames(["Hel", "lo", "!"], usage=usage_start, output_tokens=9)
    return Wire(sse(frames))


def test_a_stream_yields_deltas_then_the_completion() -> None:
    wire = streamed_wire()
    deltas, completion = collect(wire.provider().stream(REQUEST))
    assert deltas == ["Hel", "lo", "!"]
    assert completion.text == "Hello!"
    assert (completion.provider_message_id, completion.finish_reason) == ("msg_s1", "stop")
    assert (completion.input_tokens, completion.cached_input_tokens) == (320, 300)
    assert completion.output_tokens == 9  # message_delta's running total
    assert wire.bodies[0]["stream"] is True
    assert wire.bodies[0]["messages"][1]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_an_async_stream_yields_the_same() -> None:
    wire = streamed_wire()
    deltas, completion = async_to_sync(acollect)(wire.provider().astream(REQUEST))
    assert deltas == ["Hel", "lo", "!"]
    assert (completion.text, completion.input_tokens, completion.output_tokens) == (
        "Hello!",
        320,
        9,
    )
    assert wire.requests[0].headers["x-stainless-async"] != "false"


def test_input_counts_in_message_delta_replace_the_starting_ones() -> None:
    frames = stream_frames(["a"])
    frames[-2] = frame(
        "message_delta",
        {
            "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
            "usage": {"output_tokens": 4, "input_tokens": 25, "cache_creation_input_tokens": 75},
        },
    )
    _, completion = collect(Wire(sse(frames)).provider().stream(REQUEST))
    assert (completion.input_tokens, completion.cache_write_tokens) == (100, 75)
    assert completion.finish_reason == "length"


def interrupted(kind: str = "overloaded_error") -> Wire:
    head = stream_frames(["Par", "tial"])[:5]  # start, block start, ping, two deltas
    error = frame("error", {"error": {"type": kind, "message": "went wrong"}})
    return Wire(sse([*head, error]))


@pytest.mark.parametrize(
    ("kind", "code"), [("overloaded_error", "unavailable"), ("mystery_error", "stream_interrupted")]
)
def test_an_error_frame_mid_stream_raises_after_the_deltas(kind: str, code: str) -> None:
    received: list[str] = []
    with pytest.raises(ProviderError) as caught:
        for event in interrupted(kind).provider().stream(REQUEST):
            assert isinstance(event, TextDelta)
            received.append(event.text)
    assert received == ["Par", "tial"]
    assert caught.value.error_code == code
    assert caught.value.provider == "anthropic"


def test_an_error_frame_mid_async_stream() -> None:
    received: list[str] = []

    async def consume() -> None:
        async for event in interrupted().provider().astream(REQUEST):
            assert isinstance(event, TextDelta)
            received.append(event.text)

    with pytest.raises(ProviderError) as caught:
        async_to_sync(consume)()
    assert received == ["Par", "tial"]
    assert caught.value.error_code == "unavailable"


def test_a_stream_that_ends_without_message_stop_is_interrupted() -> None:
    head = stream_frames(["only"])[:4]
    with pytest.raises(ProviderError) as caught:
        list(Wire(sse(head)).provider().stream(REQUEST))
    assert caught.value.error_code == "stream_interrupted"


class Tracked(httpx2.SyncByteStream):
    """A streamed body that records whether the client closed it."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.closed = True


def test_leaving_a_stream_early_closes_the_response() -> None:
    body = Tracked([part.encode() for part in stream_frames(["a", "b", "c", "d"])])
    wire = Wire(httpx2.Response(200, stream=body, headers={"content-type": "text/event-stream"}))
    events = wire.provider().stream(REQUEST)
    first = next(events)
    assert first == TextDelta("a")
    assert not body.closed
    events.close()  # type: ignore[attr-defined]
    assert body.closed


def test_leaving_an_async_stream_early_closes_the_response() -> None:
    closed = asyncio.Event()

    class AsyncTracked(httpx2.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for part in stream_frames(["a", "b", "c"]):
                yield part.encode()

        async def aclose(self) -> None:
            closed.set()

    async def scenario() -> bool:
        wire = Wire(
            httpx2.Response(
                200, stream=AsyncTracked(), headers={"content-type": "text/event-stream"}
            )
        )
        events = wire.provider().astream(REQUEST)
        assert await anext(events) == TextDelta("a")
        await events.aclose()  # type: ignore[attr-defined]
        return closed.is_set()

    assert async_to_sync(scenario)() is True


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_dropped_connection_mid_stream_is_interrupted(asynchronous: bool) -> None:
    with FakeLLMServer() as server:
        server.stream_words = 1
        server.script(stream_drop(after=2))
        provider = AnthropicProvider(api_key=KEY, base_url=server.anthropic_url, max_retries=0)
        received: list[str] = []

        async def consume() -> None:
            async for event in provider.astream(REQUEST):
                assert isinstance(event, TextDelta)
                received.append(event.text)

        with pytest.raises(ProviderError) as caught:
            if asynchronous:
                async_to_sync(consume)()
            else:
                for event in provider.stream(REQUEST):
                    assert isinstance(event, TextDelta)
                    received.append(event.text)
    assert len(received) == 2
    assert caught.value.error_code == "stream_interrupted"


# -- failures ------------------------------------------------------------------------------------


def complete(provider: AnthropicProvider, asynchronous: bool) -> Completion:
    if asynchronous:
        return async_to_sync(provider.acomplete)(REQUEST)
    return provider.complete(REQUEST)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_overloaded_529_is_unavailable_after_the_retries(asynchronous: bool) -> None:
    wire = Wire(error(529, "overloaded_error", {"retry-after-ms": "1"}))
    with pytest.raises(ProviderError) as caught:
        complete(wire.provider(max_retries=1), asynchronous)
    assert (caught.value.error_code, caught.value.status_code) == ("unavailable", 529)
    assert caught.value.retryable is True
    assert len(wire.requests) == 2


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_429_with_retry_after_is_waited_for_then_succeeds(asynchronous: bool) -> None:
    wire = Wire(error(429, "rate_limit_error", {"retry-after": "0.05"}), message("Got it."))
    assert complete(wire.provider(max_retries=2), asynchronous).text == "Got it."
    assert len(wire.requests) == 2


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_retry_after_past_the_timeout_fails_at_once(asynchronous: bool) -> None:
    wire = Wire(error(429, "rate_limit_error", {"retry-after": "30"}), message("late"))
    with pytest.raises(ProviderError) as caught:
        complete(wire.provider(timeout=2, max_retries=3), asynchronous)
    assert (caught.value.error_code, caught.value.retry_after) == ("rate_limited", 30)
    assert len(wire.requests) == 1  # not a 30 s sleep: Anthropic's SDK has no cap of its own


def test_errors_never_show_the_key() -> None:
    leaky = httpx2.Response(
        401,
        json={"type": "error", "error": {"type": "authentication_error", "message": f"bad {KEY}"}},
    )
    with pytest.raises(ProviderError) as caught:
        Wire(leaky).provider().complete(REQUEST)
    assert caught.value.error_code == "auth"
    assert KEY not in str(caught.value) and KEY not in repr(caught.value.to_dict())


# -- token counting ------------------------------------------------------------------------------


def counted(tokens: int) -> httpx2.Response:
    return httpx2.Response(200, json={"input_tokens": tokens})


def test_count_tokens_asks_anthropic_with_the_same_system_and_messages() -> None:
    wire = Wire(counted(1234), message())
    provider = wire.provider()
    count = provider.count_tokens(REQUEST)
    provider.complete(REQUEST)
    assert (count.tokens, count.method) == (1234, "anthropic")
    counting, generating = wire.bodies
    assert wire.requests[0].url.path == "/v1/messages/count_tokens"
    assert counting["system"] == generating["system"]
    assert counting["messages"] == generating["messages"]
    assert "max_tokens" not in counting


def test_acount_tokens_asks_anthropic_too() -> None:
    wire = Wire(counted(77))
    count = async_to_sync(wire.provider().acount_tokens)(REQUEST)
    assert (count.tokens, count.method) == (77, "anthropic")


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_failed_count_falls_back_to_the_estimate_without_retrying(asynchronous: bool) -> None:
    wire = Wire(error(500, "api_error"))
    provider = wire.provider(max_retries=2)
    count: Any = (
        async_to_sync(provider.acount_tokens)(REQUEST)
        if asynchronous
        else provider.count_tokens(REQUEST)
    )
    assert count.method == "estimate" and count.tokens > 0
    assert len(wire.requests) == 1
