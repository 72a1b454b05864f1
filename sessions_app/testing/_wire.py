"""The parts of the fake LLM server both vendors' APIs share: replies, answers, message text."""

from __future__ import annotations

import contextlib
import json
import math
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from sessions_app.testing.script import AUTH_FAILURE, RecordedRequest, Step, Usage

if TYPE_CHECKING:
    from sessions_app.testing.fake_llm import FakeLLMServer, _Handler


def estimate_tokens(text: str) -> int:
    """About four characters a token, at least one: what the server counts without ``usage``."""
    return max(1, math.ceil(len(text) / 4))


def split_words(text: str, words: int = 1) -> list[str]:
    """``text`` in pieces of ``words`` words (each with its trailing spaces); they rejoin it."""
    pieces = [word + " " for word in text.split(" ")]
    pieces[-1] = pieces[-1][:-1]
    chunks = ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]
    return [chunk for chunk in chunks if chunk] or [""]


@dataclass(frozen=True)
class Reply:
    """The reply to one generation request: text, usage and how to stream it."""

    text: str
    usage: Usage
    chunks: list[str]
    step: Step

    def deltas(self, server: FakeLLMServer) -> Iterator[str]:
        """The chunks to stream, after the step's pauses; they stop where the step breaks."""
        for index, chunk in enumerate(self.chunks):
            if self.step.break_after is not None and index >= self.step.break_after:
                return
            if server.wait(self.step.delta_delay):
                return
            yield chunk

    @property
    def breaks(self) -> bool:
        return self.step.break_after is not None


class Dropped(Exception):
    """The script asked to drop the connection."""


class Refused(Exception):
    """A request the real API refuses: an error answer with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Exchange:
    """One request being answered: writes JSON, SSE frames (chunked) and API errors."""

    def __init__(self, handler: _Handler, api: WireAPI, step: Step, key: str) -> None:
        self.handler = handler
        self.api = api
        self.step = step
        self.key = key
        self._streaming = False

    def json(
        self, payload: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        data = json.dumps(payload).encode()
        handler = self.handler
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.send_header(self.api.request_id_header, self.handler.fake.new_id("req"))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def error(
        self, status: int, message: str = "", headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        text = (message or default_message(status)).replace(AUTH_FAILURE, self.key)
        self.json(self.api.error_body(status, text), status, headers)

    def start_stream(self) -> None:
        handler = self.handler
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream; charset=utf-8")
        handler.send_header("cache-control", "no-cache")
        handler.send_header("transfer-encoding", "chunked")
        handler.send_header(self.api.request_id_header, self.handler.fake.new_id("req"))
        handler.end_headers()
        self._streaming = True

    def sse(self, data: Any, event: str | None = None) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        frame = (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
        self._chunk(frame.encode())

    def end_stream(self) -> None:
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def drop(self) -> None:
        self.handler.close_connection = True
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        raise Dropped

    def _chunk(self, data: bytes) -> None:
        self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.handler.wfile.flush()


class WireAPI:
    """One vendor's routes and wire formats."""

    request_id_header = "x-request-id"

    def kind(self, method: str, parts: list[str]) -> str | None:
        raise NotImplementedError

    def handle(self, exchange: Exchange, request: RecordedRequest) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError


def default_message(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else f"Error {status}"


def make_reply(
    server: FakeLLMServer, step: Step, body: Any, last_user: str, prompt: list[str]
) -> Reply:
    text = step.text if step.text is not None else server.reply_text(body, last_user)
    usage = server.usage_for(step, " ".join(prompt), text)
    return Reply(text, usage, split_words(text, server.stream_words), step)


def answered_model(step: Step, body: Any) -> str:
    """The model name a reply reports: the step's, else the one the request asked for."""
    return step.model or (body.get("model", "") if isinstance(body, dict) else "")


def content_text(content: Any) -> str:
    """The text of a message's content: a string or a list of text parts (any vendor)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def input_items(value: Any) -> list[dict[str, Any]]:
    """Responses ``input`` (a string or items) as message items."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    items = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        if "role" in item and item.get("type", "message") == "message":
            role = item["role"]
            kind = "output_text" if role == "assistant" else "input_text"
            content = [{"type": kind, "text": content_text(item.get("content"))}]
            items.append({"type": "message", "role": role, "content": content})
        else:
            items.append(item)
    return items


def last_user(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def request_texts(body: dict[str, Any]) -> list[str]:
    """Every text of a request (system / instructions and messages), for token estimates."""
    texts = [content_text(body.get(key)) for key in ("system", "instructions")]
    raw = body.get("messages", body.get("input", []))
    for message in input_items(raw) if "input" in body else raw:
        if isinstance(message, dict):
            texts.append(content_text(message.get("content")))
    return [text for text in texts if text]
