"""The fake LLM server through the official SDKs: what our adapter tests rely on it to do.

No Django here: the server ships in ``sessions_app.testing`` for anyone's tests.
"""

from __future__ import annotations

import asyncio
import time

import anthropic
import openai
import pytest

from sessions_app.testing import (
    FakeLLMServer,
    Step,
    Usage,
    auth_failure,
    delayed,
    fail,
    rate_limited,
    stream_drop,
    stream_error,
)

USAGE = Usage(100, 20, cached_input_tokens=40, cache_write_tokens=10, reasoning_tokens=5)


def openai_client(server: FakeLLMServer, **options: object) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-fake", base_url=server.openai_url, **options)  # type: ignore[arg-type]


def anthropic_client(server: FakeLLMServer, **options: object) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-fake", base_url=server.anthropic_url, **options)  # type: ignore[arg-type]


def test_responses_echo_the_last_user_text_with_the_configured_usage(fake_llm):
    fake_llm.usage = USAGE
    response = openai_client(fake_llm).responses.create(model="gpt-4o", input="Hi there")
    assert response.output_text == "Echo: Hi there"
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens) == (100, 20)
    assert usage.input_tokens_details.cached_tokens == 40
    assert usage.output_tokens_details.reasoning_tokens == 5


def test_a_streamed_response_goes_through_the_sdk_helper(fake_llm):
    with openai_client(fake_llm).responses.stream(model="m", input="one two three") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["Echo: ", "one ", "two ", "three"]
    assert final.output_text == "Echo: one two three" and final.usage.output_tokens > 0


def test_a_conversation_remembers_every_turn(fake_llm):
    client = openai_client(fake_llm)
    conversation = client.conversations.create(metadata={"session": "s1"})
    client.responses.create(model="m", input="first", conversation=conversation.id)
    client.responses.create(model="m", input=[{"role": "user", "content": "second"}],
                            conversation=conversation.id)  # fmt: skip
    items = client.conversations.items.list(conversation.id, order="asc", limit=3)
    texts = [(item.role, item.content[0].text) for item in items]  # pages through has_more
    assert texts == [("user", "first"), ("assistant", "Echo: first"),
                     ("user", "second"), ("assistant", "Echo: second")]  # fmt: skip
    assert client.conversations.retrieve(conversation.id).metadata == {"session": "s1"}
    client.conversations.delete(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="m", input="third", conversation=conversation.id)


def test_chat_completions_stream_ends_with_a_usage_chunk(fake_llm):
    fake_llm.usage = USAGE
    chunks = list(
        openai_client(fake_llm).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "a b"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Echo: a b"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 100
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 40


def test_anthropic_reports_input_tokens_without_the_cache(fake_llm):
    fake_llm.usage = USAGE
    client = anthropic_client(fake_llm)
    messages = [{"role": "user", "content": "hello"}]
    whole = client.messages.create(model="c", max_tokens=10, messages=messages)
    with client.messages.stream(model="c", max_tokens=10, messages=messages) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert whole.content[0].text == streamed == "Echo: hello"
    for usage in (whole.usage, final.usage):
        assert (usage.input_tokens, usage.output_tokens) == (50, 20)
        assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (40, 10)


def test_scripted_failures_are_retried_by_the_sdks(fake_llm):
    fake_llm.script(rate_limited(0.01), fail(529, retry_after_ms=10))
    reply = anthropic_client(fake_llm).messages.create(
        model="c", max_tokens=5, messages=[{"role": "user", "content": "q"}]
    )
    assert reply.content[0].text == "Echo: q"
    assert len(fake_llm.requests_for("messages")) == 3 and not fake_llm.pending_steps


def test_a_refused_key_is_echoed_like_the_real_services_do(fake_llm):
    fake_llm.script(auth_failure())
    with pytest.raises(openai.AuthenticationError, match="sk-fake"):
        openai_client(fake_llm).responses.create(model="m", input="x")
    assert fake_llm.requests[0].api_key == "sk-fake"


def test_a_delay_causes_a_client_timeout(fake_llm):
    fake_llm.script(delayed(2))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        openai_client(fake_llm, timeout=0.2, max_retries=0).responses.create(model="m", input="x")
    assert time.monotonic() - started < 1.5


def test_an_error_frame_follows_the_first_deltas(fake_llm):
    fake_llm.script(stream_error(after=2), stream_error(after=1))
    events = list(openai_client(fake_llm).responses.create(model="m", input="a b c", stream=True))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert deltas == ["Echo: ", "a "] and events[-1].type == "error"
    client = anthropic_client(fake_llm, max_retries=0)
    received = []
    messages = [{"role": "user", "content": "a b"}]
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        client.messages.stream(model="c", max_tokens=5, messages=messages) as stream,
    ):
        received.extend(stream.text_stream)
    assert raised.value.status_code == 200 and received == ["Echo: "]


def test_a_dropped_stream_is_a_connection_error(fake_llm):
    fake_llm.script(stream_drop(after=1))
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in openai_client(fake_llm).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "a b"}], stream=True
        ):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "Echo: "]


def test_a_step_for_one_route_leaves_the_others_alone(fake_llm):
    fake_llm.script(Step(status=500, kinds=frozenset({"conversations"})))
    client = openai_client(fake_llm, max_retries=0)
    assert client.responses.create(model="m", input="x").output_text == "Echo: x"
    with pytest.raises(openai.InternalServerError):
        client.conversations.create()


def test_async_clients_work_too(fake_llm):
    async def both() -> tuple[str, str]:
        oai = openai.AsyncOpenAI(api_key="k", base_url=fake_llm.openai_url)
        ant = anthropic.AsyncAnthropic(api_key="k", base_url=fake_llm.anthropic_url)
        stream = await oai.responses.create(model="m", input="one", stream=True)
        first = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
        messages = [{"role": "user", "content": "two"}]
        async with ant.messages.stream(model="c", max_tokens=5, messages=messages) as s:
            second = "".join([text async for text in s.text_stream])
        return first, second

    assert asyncio.run(both()) == ("Echo: one", "Echo: two")
