"""The fake server's OpenAI routes: Responses, Chat Completions and Conversations."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sessions_app.testing._wire import (
    Exchange,
    Refused,
    Reply,
    WireAPI,
    answered_model,
    input_items,
    last_user,
    make_reply,
    request_texts,
)
from sessions_app.testing.script import RecordedRequest, Step, Usage

if TYPE_CHECKING:
    from sessions_app.testing.fake_llm import FakeLLMServer


@dataclass
class Conversation:
    id: str
    created_at: int
    metadata: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }


class OpenAIAPI(WireAPI):
    """``/v1/responses``, ``/v1/chat/completions`` and ``/v1/conversations``."""

    def __init__(self, server: FakeLLMServer) -> None:
        self.server = server

    def kind(self, method: str, parts: list[str]) -> str | None:
        if parts == ["v1", "responses"] and method == "POST":
            return "responses"
        if parts == ["v1", "chat", "completions"] and method == "POST":
            return "chat"
        if parts[:2] == ["v1", "conversations"]:
            return "conversations"
        return None

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def handle(self, exchange: Exchange, request: RecordedRequest) -> None:
        if request.kind == "conversations":
            self._conversations(exchange, request)
        elif request.kind == "responses":
            self._responses(exchange, request.body)
        else:
            self._chat(exchange, request.body)

    # -- Responses -------------------------------------------------------------------------
    def _responses(self, exchange: Exchange, body: dict[str, Any]) -> None:
        try:
            conversation = self._conversation_of(body)
        except Refused as refusal:
            exchange.error(refusal.status, str(refusal))
            return
        inputs = input_items(body.get("input", []))
        reply = make_reply(self.server, exchange.step, body, last_user(inputs), request_texts(body))
        response_id = self.server.new_id("resp")
        message = _output_message(self.server.new_id("msg"), reply.text)
        response = _response(body, response_id, reply, [message])
        if body.get("stream"):
            self._stream_response(exchange, response, message, reply)
        else:
            exchange.json(response)
        if reply.breaks:
            return
        if body.get("store", True):
            self.server.responses[response_id] = response
        if conversation is not None:
            conversation.items.extend([*self._with_ids(inputs), message])

    def _conversation_of(self, body: dict[str, Any]) -> Conversation | None:
        previous = body.get("previous_response_id")
        if previous and previous not in self.server.responses:
            raise Refused(400, f"Previous response with id '{previous}' not found.")
        ref = body.get("conversation")
        conv_id = ref.get("id") if isinstance(ref, dict) else ref
        if not conv_id:
            return None
        if previous:
            raise Refused(400, "previous_response_id cannot be used with conversation.")
        conversation = self.server.conversations.get(conv_id)
        if conversation is None:
            raise Refused(404, f"Conversation with id '{conv_id}' not found.")
        return conversation

    def _with_ids(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": self.server.new_id("msg"), "status": "completed", **item} for item in items]

    def _stream_response(
        self, exchange: Exchange, response: dict[str, Any], message: dict[str, Any], reply: Reply
    ) -> None:
        sequence = itertools.count()
        item_id = message["id"]

        def send(kind: str, **fields: Any) -> None:
            exchange.sse({"type": kind, "sequence_number": next(sequence), **fields}, kind)

        exchange.start_stream()
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        send("response.created", response=started)
        send("response.in_progress", response=started)
        empty_item = {**message, "status": "in_progress", "content": []}
        send("response.output_item.added", output_index=0, item=empty_item)
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        send("response.content_part.added", **where, part=part)
        for chunk in reply.deltas(self.server):
            send("response.output_text.delta", **where, delta=chunk, logprobs=[])
        if reply.breaks:
            self._break(exchange, send, started, reply.step)
            return
        send("response.output_text.done", **where, text=reply.text, logprobs=[])
        send("response.content_part.done", **where, part={**part, "text": reply.text})
        send("response.output_item.done", output_index=0, item=message)
        send("response.completed", response=response)
        exchange.end_stream()

    def _break(
        self, exchange: Exchange, send: Callable[..., None], started: dict[str, Any], step: Step
    ) -> None:
        if step.drop:
            exchange.drop()
        message = step.message or "The server had an error while processing your request."
        if step.response_failed:
            error = {"code": "server_error", "message": message}
            send("response.failed", response={**started, "status": "failed", "error": error})
        else:
            send("error", code="server_error", message=message, param=None)
        exchange.end_stream()

    # -- Chat Completions ------------------------------------------------------------------
    def _chat(self, exchange: Exchange, body: dict[str, Any]) -> None:
        messages = body.get("messages", [])
        user = last_user(messages)
        reply = make_reply(self.server, exchange.step, body, user, request_texts(body))
        completion_id = self.server.new_id("chatcmpl")
        model = answered_model(exchange.step, body)
        common = {"id": completion_id, "created": int(time.time()), "model": model}
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply.text, "refusal": None}
            choice = {"index": 0, "finish_reason": "stop", "logprobs": None, "message": message}
            payload = {**common, "object": "chat.completion", "choices": [choice]}
            exchange.json({**payload, "usage": _chat_usage(reply.usage)})
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._stream_chat(
            exchange, {**common, "object": "chat.completion.chunk"}, reply, include_usage
        )

    def _stream_chat(
        self, exchange: Exchange, common: dict[str, Any], reply: Reply, include_usage: bool
    ) -> None:
        extra = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            exchange.sse({**common, "choices": [choice], **extra})

        exchange.start_stream()
        chunk({"role": "assistant", "content": "", "refusal": None})
        for text in reply.deltas(self.server):
            chunk({"content": text})
        if reply.breaks:
            if reply.step.drop:
                exchange.drop()
            message = reply.step.message or "The server had an error while processing your request."
            exchange.sse(
                {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
            )
            exchange.end_stream()
            return
        chunk({}, "stop")
        if include_usage:
            exchange.sse({**common, "choices": [], "usage": _chat_usage(reply.usage)})
        exchange.sse("[DONE]")
        exchange.end_stream()

    # -- Conversations ---------------------------------------------------------------------
    def _conversations(self, exchange: Exchange, request: RecordedRequest) -> None:
        parts = request.path.strip("/").split("/")[2:]
        method = request.method
        if not parts:
            if method == "POST":
                self._create_conversation(exchange, request.body or {})
            else:
                exchange.error(405, "Method not allowed.")
            return
        conversation = self.server.conversations.get(parts[0])
        if conversation is None:
            exchange.error(404, f"Conversation with id '{parts[0]}' not found.")
        elif parts[1:] == ["items"] and method == "GET":
            exchange.json(_item_page(conversation.items, request.query))
        elif parts[1:] == ["items"] and method == "POST":
            new_items = self._with_ids(input_items((request.body or {}).get("items", [])))
            conversation.items.extend(new_items)
            exchange.json(_list(new_items, has_more=False))
        elif parts[1:]:
            exchange.error(404, "Unknown conversation route.")
        elif method == "GET":
            exchange.json(conversation.as_json())
        elif method == "POST":
            conversation.metadata = dict((request.body or {}).get("metadata") or {})
            exchange.json(conversation.as_json())
        elif method == "DELETE":
            del self.server.conversations[conversation.id]
            exchange.json(
                {"id": conversation.id, "object": "conversation.deleted", "deleted": True}
            )
        else:
            exchange.error(405, "Method not allowed.")

    def _create_conversation(self, exchange: Exchange, body: dict[str, Any]) -> None:
        items = body.get("items") or []
        metadata = body.get("metadata") or {}
        if len(items) > 20 or len(metadata) > 16:
            exchange.error(400, "At most 20 items and 16 metadata pairs.")
            return
        conversation = Conversation(
            id=self.server.new_id("conv"),
            created_at=int(time.time()),
            metadata=dict(metadata),
            items=self._with_ids(input_items(items)),
        )
        self.server.conversations[conversation.id] = conversation
        exchange.json(conversation.as_json())


_OPENAI_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def _output_message(item_id: str, text: str) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [part],
    }


def _response(
    body: dict[str, Any], response_id: str, reply: Reply, output: list[dict[str, Any]]
) -> dict[str, Any]:
    usage = reply.usage
    conversation = body.get("conversation")
    if isinstance(conversation, str):
        conversation = {"id": conversation}
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": answered_model(reply.step, body),
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "conversation": conversation,
        "store": body.get("store", True),
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": body.get("truncation", "disabled"),
        "metadata": body.get("metadata") or {},
        "usage": {
            "input_tokens": usage.input_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
            "output_tokens": usage.output_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.input_tokens + usage.output_tokens,
        },
    }


def _chat_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _list(items: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def _item_page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    ordered = items if query.get("order", ["desc"])[0] == "asc" else items[::-1]
    after = query.get("after", [""])[0]
    if after:
        ids = [item["id"] for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit", ["20"])[0])
    return _list(ordered[:limit], has_more=len(ordered) > limit)
