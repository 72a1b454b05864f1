"""OpenAI API answers on an ``httpx2.MockTransport``, for the OpenAI adapter's tests.

``Wire`` records every request (method, path, JSON body) and answers from a queue of
``httpx2.Response``s per path, falling back to a canned success for each endpoint.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2

from sessions_app.providers.base import ChatMessage, CompletionRequest
from sessions_app.providers.openai import OpenAIProvider

KEY = "sk-proj-b1test-7f3a9c2e41d8"
MODEL = "gpt-4o"
USAGE = {
    "input_tokens": 120,
    "input_tokens_details": {"cached_tokens": 100},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 150,
}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: Any
    headers: httpx2.Headers


def response_body(
    text: str = "Hello!", *, response_id: str = "resp_1", usage: Any = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1,
        "model": MODEL,
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "usage": USAGE if usage is None else usage,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        **extra,
    }


def sse(frames: list[dict[str, Any]]) -> bytes:
    """Responses-style SSE: an ``event:`` line naming each frame's type."""
    return "".join(f"event: {f['type']}\ndata: {json.dumps(f)}\n\n" for f in frames).encode()


def response_frames(
    deltas: list[str], *, response_id: str = "resp_1", final: str | None = "response.completed"
) -> list[dict[str, Any]]:
    body = response_body("".join(deltas), response_id=response_id)
    started = {**body, "status": "in_progress", "output": [], "usage": None}
    frames: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {
                "type": "message",
                "id": "msg_1",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            },
        },
    ]
    frames += [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": delta,
            "logprobs": [],
        }
        for delta in deltas
    ]
    if final:
        frames.append({"type": final, "response": body})
    return [{**frame, "sequence_number": n} for n, frame in enumerate(frames)]


def chat_body(text: str = "Hi from chat", *, usage: Any = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl_1",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": text, "refusal": None},
            }
        ],
        "usage": usage
        or {
            "prompt_tokens": 50,
            "completion_tokens": 7,
            "total_tokens": 57,
            "prompt_tokens_details": {"cached_tokens": 32},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }


def chat_sse(deltas: list[str]) -> bytes:
    def chunk(choices: list[Any], usage: Any = None) -> str:
        data = {
            "id": "chatcmpl_1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": MODEL,
            "choices": choices,
            "usage": usage,
        }
        return f"data: {json.dumps(data)}\n\n"

    parts = [chunk([{"index": 0, "delta": {"content": d}, "finish_reason": None}]) for d in deltas]
    parts.append(chunk([{"index": 0, "delta": {}, "finish_reason": "length"}]))
    usage = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    parts.append(chunk([], usage))
    return ("".join(parts) + "data: [DONE]\n\n").encode()


class TrackedBody(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A streamed body that records whether the client closed it."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks, self.closed = chunks, False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class Wire:
    """The handler of a ``MockTransport``: scripted answers per path, else canned successes."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.queued: dict[str, deque[httpx2.Response]] = defaultdict(deque)
        self.conversations = 0

    def queue(self, path: str, *responses: httpx2.Response) -> None:
        self.queued[path].extend(responses)

    def bodies(self, path: str) -> list[Any]:
        return [seen.body for seen in self.seen if seen.path == path]

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        self.seen.append(Seen(request.method, path, body, request.headers))
        if self.queued[path]:
            return self.queued[path].popleft()
        return self.default(request.method, path, body)

    def default(self, method: str, path: str, body: Any) -> httpx2.Response:
        if path == "/v1/conversations" and method == "POST":
            self.conversations += 1
            conversation_id = f"conv_{self.conversations}"
            answer = {"id": conversation_id, "object": "conversation", "created_at": 1}
            return httpx2.Response(200, json={**answer, "metadata": body.get("metadata", {})})
        if path.startswith("/v1/conversations/") and method == "DELETE":
            conversation_id = path.rsplit("/", 1)[-1]
            deleted = {"id": conversation_id, "object": "conversation.deleted", "deleted": True}
            return httpx2.Response(200, json=deleted)
        if path.startswith("/v1/conversations/") and path.endswith("/items"):
            return httpx2.Response(200, json={"object": "list", "data": [], "has_more": False})
        if path == "/v1/responses" and body.get("stream"):
            return httpx2.Response(200, content=sse(response_frames(["Hel", "lo!"])))
        if path == "/v1/responses":
            return httpx2.Response(200, json=response_body())
        if path == "/v1/chat/completions" and body.get("stream"):
            return httpx2.Response(200, content=chat_sse(["Hi ", "there"]))
        if path == "/v1/chat/completions":
            return httpx2.Response(200, json=chat_body())
        return httpx2.Response(404, json={"error": {"message": "no route", "type": "x"}})


def provider(wire: Wire, **options: Any) -> OpenAIProvider:
    transport = httpx2.MockTransport(wire)
    options.setdefault("api_key", KEY)
    return OpenAIProvider(
        http_client=httpx2.Client(transport=transport),
        async_http_client=httpx2.AsyncClient(transport=transport),
        **options,
    )


def request(*contents: str, **fields: Any) -> CompletionRequest:
    """A request whose messages alternate user / assistant, starting with the user."""
    roles = ("user", "assistant")
    messages = [ChatMessage(roles[i % 2], content) for i, content in enumerate(contents)]
    fields.setdefault("model", MODEL)
    return CompletionRequest(messages=messages, **fields)
