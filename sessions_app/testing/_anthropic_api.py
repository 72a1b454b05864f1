"""The fake server's Anthropic routes: Messages (streamed or not) and token counting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessions_app.testing._wire import (
    Exchange,
    Reply,
    WireAPI,
    answered_model,
    estimate_tokens,
    last_user,
    make_reply,
    request_texts,
)
from sessions_app.testing.script import RecordedRequest, Usage

if TYPE_CHECKING:
    from sessions_app.testing.fake_llm import FakeLLMServer


class AnthropicAPI(WireAPI):
    """``/v1/messages`` and ``/v1/messages/count_tokens``."""

    request_id_header = "request-id"

    def __init__(self, server: FakeLLMServer) -> None:
        self.server = server

    def kind(self, method: str, parts: list[str]) -> str | None:
        if parts == ["v1", "messages"] and method == "POST":
            return "messages"
        if parts == ["v1", "messages", "count_tokens"] and method == "POST":
            return "count_tokens"
        return None

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = _ANTHROPIC_ERRORS.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def handle(self, exchange: Exchange, request: RecordedRequest) -> None:
        body = request.body or {}
        if request.kind == "count_tokens":
            exchange.json({"input_tokens": sum(map(estimate_tokens, request_texts(body)))})
            return
        reply = make_reply(
            self.server,
            exchange.step,
            body,
            last_user(body.get("messages", [])),
            request_texts(body),
        )
        message = {
            "id": self.server.new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": answered_model(exchange.step, body),
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": _anthropic_usage(reply.usage),
        }
        if body.get("stream"):
            self._stream(exchange, message, reply)
        else:
            exchange.json(message)

    def _stream(self, exchange: Exchange, message: dict[str, Any], reply: Reply) -> None:
        def send(kind: str, **fields: Any) -> None:
            exchange.sse({"type": kind, **fields}, kind)

        exchange.start_stream()
        usage = {**message["usage"], "output_tokens": 1}
        send(
            "message_start", message={**message, "content": [], "stop_reason": None, "usage": usage}
        )
        send("content_block_start", index=0, content_block={"type": "text", "text": ""})
        send("ping")
        for chunk in reply.deltas(self.server):
            send("content_block_delta", index=0, delta={"type": "text_delta", "text": chunk})
        if reply.breaks:
            if reply.step.drop:
                exchange.drop()
            error = {"type": "overloaded_error", "message": reply.step.message or "Overloaded"}
            send("error", error=error)
            exchange.end_stream()
            return
        send("content_block_stop", index=0)
        delta = {"stop_reason": "end_turn", "stop_sequence": None}
        send("message_delta", delta=delta, usage={"output_tokens": reply.usage.output_tokens})
        send("message_stop")
        exchange.end_stream()


_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _anthropic_usage(usage: Usage) -> dict[str, Any]:
    uncached = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
    return {
        "input_tokens": max(0, uncached),
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
    }
