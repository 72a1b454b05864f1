"""The Responses mode through the real ``openai`` SDK on a MockTransport: what is sent each turn,
the native state kept, usage, and streams (sync and async)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest

from sessions_app.exceptions import ProviderError
from sessions_app.providers.base import Completion, StreamEvent, TextDelta
from tests.providers.openai_wire import (
    KEY,
    TrackedBody,
    Wire,
    provider,
    request,
    response_body,
    response_frames,
    sse,
)


def collect_async(stream: Any) -> list[StreamEvent]:
    async def run() -> list[StreamEvent]:
        return [event async for event in stream]

    return asyncio.run(run())


def test_first_turn_creates_a_conversation_with_the_history_and_sends_only_the_new_message():
    wire = Wire()
    openai = provider(wire)
    first = request("hi", "hello", "how are you?", session_id="s-1", system="Be brief.")

    completion = openai.complete(first)

    created = wire.bodies("/v1/conversations")[0]
    assert created["metadata"] == {"session_id": "s-1"}
    assert [(i["role"], i["content"]) for i in created["items"]] == [
        ("user", "hi"),
        ("assistant", "hello"),
    ]
    sent = wire.bodies("/v1/responses")[0]
    assert sent["conversation"] == "conv_1"
    assert sent["input"] == [{"type": "message", "role": "user", "content": "how are you?"}]
    assert sent["instructions"] == "Be brief."
    assert sent["store"] is True
    assert completion.text == "Hello!"
    assert completion.provider_state == {"conversation_id": "conv_1", "response_id": "resp_1"}
    assert completion.provider_message_id == "resp_1"


def test_a_later_turn_reuses_the_conversation_and_creates_none():
    wire = Wire()
    openai = provider(wire)
    state = {"conversation_id": "conv_9", "response_id": "resp_0"}
    later = request("one", "two", "three", provider_state=state)

    completion = openai.complete(later)

    assert wire.bodies("/v1/conversations") == []
    sent = wire.bodies("/v1/responses")[0]
    assert sent["conversation"] == "conv_9"
    assert [item["content"] for item in sent["input"]] == ["three"]
    assert completion.provider_state["conversation_id"] == "conv_9"
    assert openai.sends_history(later) is False


def test_a_long_history_is_added_to_the_new_conversation_in_chunks_of_twenty():
    wire = Wire()
    contents = [f"m{i}" for i in range(44)] + ["new"]
    provider(wire).complete(request(*contents))

    created = wire.bodies("/v1/conversations")[0]
    added = wire.bodies("/v1/conversations/conv_1/items")
    items = created["items"] + [item for body in added for item in body["items"]]
    assert len(created["items"]) == 20
    assert [item["content"] for item in items] == contents[:-1]


def test_session_options_name_the_conversation_and_an_ended_one_is_not_reused():
    from sessions_app.providers.openai import signed_conversation

    wire = Wire()
    openai = provider(wire)
    made = signed_conversation("s1", "conversation_id", "conv_made_by_thread")
    named = request("hi", session_id="s1", options={"conversation_id": made})
    openai.complete(named)
    ended = request(
        "a",
        "b",
        "c",
        session_id="s1",
        provider_state={"conversation_id": "conv_old"},
        options={
            "ended_conversation_id": signed_conversation("s1", "ended_conversation_id", "conv_old")
        },
    )
    completion = openai.complete(ended)

    assert [body["conversation"] for body in wire.bodies("/v1/responses")] == [
        "conv_made_by_thread",
        "conv_1",
    ]
    assert completion.provider_state["conversation_id"] == "conv_1"


def test_previous_response_id_mode_chains_replies_without_a_conversation():
    wire = Wire()
    openai = provider(wire, previous_response_id=True)
    first = openai.complete(request("hi", "hello", "again"))
    openai.complete(
        request("hi", "hello", "again", "x", "more", provider_state=first.provider_state)
    )

    first_body, second_body = wire.bodies("/v1/responses")
    assert wire.bodies("/v1/conversations") == []
    assert "previous_response_id" not in first_body
    assert [item["content"] for item in first_body["input"]] == ["hi", "hello", "again"]
    assert second_body["previous_response_id"] == "resp_1"
    assert [item["content"] for item in second_body["input"]] == ["more"]
    assert first.provider_state == {"response_id": "resp_1"}


@pytest.mark.parametrize("where", ["option", "session"])
def test_store_false_is_stateless_and_sends_the_whole_history(where):
    wire = Wire()
    openai = provider(wire, **({"store": False} if where == "option" else {}))
    options = {"store": False} if where == "session" else {}
    turn = request("hi", "hello", "again", provider_state={"conversation_id": "c"}, options=options)

    completion = openai.complete(turn)

    body = wire.bodies("/v1/responses")[0]
    assert body["store"] is False
    assert "conversation" not in body and "previous_response_id" not in body
    assert [item["content"] for item in body["input"]] == ["hi", "hello", "again"]
    assert completion.provider_state == {}
    assert openai.sends_history(turn) is True


def test_usage_with_cached_and_reasoning_tokens_and_the_options_sent():
    wire = Wire()
    openai = provider(wire, max_output_tokens=300)
    completion = openai.complete(
        request("hi", provider_state={"conversation_id": "c"}, options={"temperature": 0.2})
    )

    assert (completion.input_tokens, completion.output_tokens) == (120, 30)
    assert (completion.cached_input_tokens, completion.reasoning_tokens) == (100, 12)
    body = wire.bodies("/v1/responses")[0]
    assert (body["max_output_tokens"], body["temperature"]) == (300, 0.2)


def test_an_incomplete_response_reports_its_reason():
    wire = Wire()
    incomplete = response_body(
        "Cut sh", status="incomplete", incomplete_details={"reason": "max_output_tokens"}
    )
    wire.queue("/v1/responses", httpx2.Response(200, json=incomplete))

    completion = provider(wire).complete(request("hi", provider_state={"conversation_id": "c"}))

    assert (completion.text, completion.finish_reason) == ("Cut sh", "length")


def test_async_complete_runs_the_same_turn():
    wire = Wire()
    completion = asyncio.run(provider(wire).acomplete(request("hi", session_id="s")))

    assert completion.provider_state == {"conversation_id": "conv_1", "response_id": "resp_1"}
    assert wire.bodies("/v1/responses")[0]["conversation"] == "conv_1"


def test_stream_yields_deltas_then_the_completion_sync_and_async():
    for run in (lambda p, r: list(p.stream(r)), lambda p, r: collect_async(p.astream(r))):
        wire = Wire()
        events = run(provider(wire), request("hi"))

        assert events[:-1] == [TextDelta("Hel"), TextDelta("lo!")]
        final = events[-1]
        assert isinstance(final, Completion)
        assert final.text == "Hello!" and final.cached_input_tokens == 100
        assert final.provider_state["conversation_id"] == "conv_1"
        assert wire.bodies("/v1/responses")[0]["stream"] is True


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ("error server_error", "unavailable"),
        ("error rate_limit_exceeded", "rate_limited"),
        ("error mystery", "stream_interrupted"),
        ("response.failed server_error", "unavailable"),
        ("no final frame", "stream_interrupted"),
    ],
)
def test_a_failure_frame_mid_stream_raises_after_the_deltas(failure, code):
    wire = Wire()
    frames = response_frames(["Par", "tial"], final=None)
    kind, _, upstream = failure.partition(" ")
    if kind == "error":
        frames.append({"type": "error", "code": upstream, "message": "boom", "param": None})
    elif kind == "response.failed":
        failed = response_body("", status="failed", error={"code": upstream, "message": "x"})
        frames.append({"type": "response.failed", "response": failed})
    wire.queue("/v1/responses", httpx2.Response(200, content=sse(frames)))
    seen: list[StreamEvent] = []

    with pytest.raises(ProviderError) as caught:
        seen.extend(provider(wire).stream(request("hi", provider_state={"conversation_id": "c"})))

    assert seen == [TextDelta("Par"), TextDelta("tial")]
    assert caught.value.error_code == code
    assert caught.value.retryable is True


def test_an_async_stream_error_frame_raises_after_the_deltas():
    wire = Wire()
    frames = response_frames(["One"], final=None)
    frames.append({"type": "error", "code": None, "message": "boom", "param": None})
    wire.queue("/v1/responses", httpx2.Response(200, content=sse(frames)))
    seen: list[StreamEvent] = []

    async def run() -> None:
        async for event in provider(wire).astream(request("hi")):
            seen.append(event)

    with pytest.raises(ProviderError) as caught:
        asyncio.run(run())
    assert seen == [TextDelta("One")]
    assert caught.value.error_code == "stream_interrupted"


def test_closing_a_stream_early_closes_the_http_response_sync_and_async():
    frames = sse(response_frames(["a", "b", "c"]))
    wire = Wire()
    body = TrackedBody([frames])
    wire.queue("/v1/responses", httpx2.Response(200, stream=body))
    events = provider(wire).stream(request("hi", provider_state={"conversation_id": "c"}))
    assert next(events) == TextDelta("a")
    events.close()
    assert body.closed

    async_body = TrackedBody([frames])
    wire.queue("/v1/responses", httpx2.Response(200, stream=async_body))

    async def first_then_close() -> None:
        stream = provider(wire).astream(request("hi", provider_state={"conversation_id": "c"}))
        assert await anext(stream) == TextDelta("a")
        await stream.aclose()

    asyncio.run(first_then_close())
    assert async_body.closed


def test_cleanup_deletes_the_conversation_and_tolerates_one_already_gone():
    wire = Wire()
    openai = provider(wire)
    gone = {"error": {"message": "Conversation not found", "type": "invalid_request_error"}}
    wire.queue("/v1/conversations/conv_2", httpx2.Response(404, json=gone))

    openai.cleanup_resources("s", {"conversation_id": "conv_1"})
    openai.cleanup_resources("s", {"conversation_id": "conv_2"})
    openai.cleanup_resources("s", {})

    assert [(seen.method, seen.path) for seen in wire.seen] == [
        ("DELETE", "/v1/conversations/conv_1"),
        ("DELETE", "/v1/conversations/conv_2"),
    ]


def test_cleanup_reports_other_failures():
    wire = Wire()
    wire.queue("/v1/conversations/conv_1", httpx2.Response(401, json={"error": {"message": "no"}}))

    with pytest.raises(ProviderError) as caught:
        provider(wire).cleanup_resources("s", {"conversation_id": "conv_1"})
    assert caught.value.error_code == "auth"


def test_conversation_helpers_for_provider_sessions():
    wire = Wire()
    item = {
        "type": "message",
        "id": "msg_a",
        "status": "completed",
        "role": "assistant",
        "content": [
            {"type": "output_text", "text": "Hi ", "annotations": []},
            {"type": "output_text", "text": "you", "annotations": []},
        ],
    }
    page = {
        "object": "list",
        "data": [item],
        "first_id": "msg_a",
        "last_id": "msg_a",
        "has_more": False,
    }
    wire.queue("/v1/conversations/conv_7/items", httpx2.Response(200, json=page))
    updated = {"id": "conv_7", "object": "conversation", "created_at": 1, "metadata": {"k": "v"}}
    wire.queue("/v1/conversations/conv_7", httpx2.Response(200, json=updated))
    openai = provider(wire)

    assert openai.create_conversation(metadata={"session_id": "s"}) == "conv_1"
    assert [(m.role, m.content) for m in openai.conversation_items("conv_7")] == [
        ("assistant", "Hi you")
    ]
    openai.update_conversation("conv_7", {"k": "v"})
    assert wire.seen[-1].body == {"metadata": {"k": "v"}}
    assert wire.seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_failed_first_turn_still_names_the_conversation_it_created():
    wire = Wire()
    frames = response_frames(["Par"], final=None)
    wire.queue("/v1/responses", httpx2.Response(200, content=sse(frames)))
    wire.queue("/v1/responses", httpx2.Response(400, json={"error": {"message": "bad"}}))
    openai = provider(wire)

    with pytest.raises(ProviderError) as broken:
        list(openai.stream(request("hi")))
    with pytest.raises(ProviderError) as refused:
        openai.complete(request("hi"))

    assert broken.value.context["provider_state"] == {"conversation_id": "conv_1"}
    assert refused.value.context["provider_state"] == {"conversation_id": "conv_2"}
    assert "conv_" not in repr(broken.value.to_dict())  # context stays out of API answers


def test_thread_metadata_labels_the_new_conversation_and_max_tokens_caps_the_reply():
    wire = Wire()
    options = {"thread_metadata": {"user_type": "premium"}, "max_tokens": 77, "assistant_id": "a"}

    provider(wire).complete(request("hi", session_id="s-9", options=options))

    created = wire.bodies("/v1/conversations")[0]
    assert created["metadata"] == {"user_type": "premium", "session_id": "s-9"}
    sent = wire.bodies("/v1/responses")[0]
    assert sent["max_output_tokens"] == 77
    assert "assistant_id" not in sent
