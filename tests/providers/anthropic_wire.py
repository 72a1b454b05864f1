"""Anthropic Messages API answers on an ``httpx2.MockTransport``, for the adapter's tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from sessions_app.providers.anthropic import AnthropicProvider

KEY = "sk-ant-test-5b1e7c0d"
MODEL = "claude-sonnet-4-5"

Answer = httpx2.Response | Callable[[httpx2.Request], httpx2.Response]


def message(
    text: str = "Hello there",
    *,
    usage: dict[str, Any] | None = None,
    stop_reason: str = "end_turn",
    message_id: str = "msg_01",
) -> httpx2.Response:
    return httpx2.Response(
        200,
        json={
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage or {"input_tokens": 12, "output_tokens": 3},
        },
    )


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    body = {"type": "error", "error": {"type": kind, "message": f"{kind} happened"}}
    return httpx2.Response(status, json=body, headers=headers)


def frame(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps({'type': event, **data})}\n\n"


def stream_frames(
    texts: list[str],
    *,
    usage: dict[str, Any] | None = None,
    output_tokens: int = 5,
    stop_reason: str = "end_turn",
) -> list[str]:
    start: dict[str, Any] = {
        "id": "msg_s1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 20, "output_tokens": 1},
    }
    block = {"index": 0, "content_block": {"type": "text", "text": ""}}
    deltas = [
        frame("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}})
        for text in texts
    ]
    return [
        frame("message_start", {"message": start}),
        frame("content_block_start", block),
        frame("ping", {}),
        *deltas,
        frame("content_block_stop", {"index": 0}),
        frame(
            "message_delta",
            {
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        frame("message_stop", {}),
    ]


def sse(frames: list[str]) -> httpx2.Response:
    body = "".join(frames).encode()
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


class Wire:
    """Answers each request with the next queued answer and records what was sent."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    def provider(self, **options: Any) -> AnthropicProvider:
        transport = httpx2.MockTransport(self)
        options.setdefault("api_key", KEY)
        return AnthropicProvider(
            http_client=httpx2.Client(transport=transport),
            async_http_client=httpx2.AsyncClient(transport=transport),
            **options,
        )
