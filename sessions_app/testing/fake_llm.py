"""A fake OpenAI + Anthropic HTTP server on 127.0.0.1 for tests and benchmarks.

It speaks the wire formats the official SDKs expect (JSON replies, SSE streams, error bodies),
so an adapter under test runs its real SDK code paths. It needs neither Django nor pytest::

    from sessions_app.testing import FakeLLMServer, fail

    with FakeLLMServer() as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.openai_url)
        server.script(fail(500), times=2)          # the next two model calls fail
        client.responses.create(model="gpt-4o", input="Hi")   # retried, then "Echo: Hi"
        server.requests_for("responses")            # what the SDK sent, three times

One server answers both APIs: ``openai_url`` ends in ``/v1``, ``anthropic_url`` does not (as
each SDK wants). The reply is ``server.reply`` (a text, or a function of the request body),
by default ``"Echo: <last user text>"``. ``server.usage`` fixes the token counts; it describes
totals (``input_tokens`` includes cached and cache-written tokens), and each API reports them
in its own convention (Anthropic's ``input_tokens`` excludes the cache). A script of ``Step``
values, consumed one per matching request, injects failures, delays and broken streams.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sessions_app.testing._anthropic_api import AnthropicAPI
from sessions_app.testing._openai_api import Conversation, OpenAIAPI
from sessions_app.testing._wire import Dropped, Exchange, WireAPI, estimate_tokens, split_words
from sessions_app.testing.script import (
    RecordedRequest,
    Step,
    Usage,
    answers_as,
    auth_failure,
    delayed,
    fail,
    rate_limited,
    slow_stream,
    stream_drop,
    stream_error,
)


class FakeLLMServer:
    """A threaded HTTP server on 127.0.0.1 (port 0 by default); a context manager."""

    def __init__(self, *, port: int = 0, api_key: str | None = None) -> None:
        self._port = port
        # When set, other keys are refused with 401 (echoing the key, as the services do).
        self.api_key = api_key
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self.reset()

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", self._port), handler)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends pending delays
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("The fake LLM server is not running.")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    # -- configuration ---------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the script, the record, the conversations and the reply settings."""
        with self._lock:
            self.reply: str | Callable[[Any], str] | None = None
            self.usage: Usage | None = None
            self.stream_words = 1
            self._script: list[Step] = []
            self._requests: list[RecordedRequest] = []
            self.conversations: dict[str, Conversation] = {}
            self.responses: dict[str, dict[str, Any]] = {}

    def script(self, *steps: Step, times: int = 1) -> None:
        """Queue ``steps`` (each ``times`` over) for the coming requests."""
        with self._lock:
            self._script.extend(list(steps) * times)

    def clear_script(self) -> None:
        """Drop the steps no request has used yet."""
        with self._lock:
            self._script.clear()

    @property
    def pending_steps(self) -> list[Step]:
        with self._lock:
            return list(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, kind: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.kind == kind]

    # -- used by the handlers --------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):020d}"

    def record(self, request: RecordedRequest) -> Step:
        with self._lock:
            self._requests.append(request)
            for index, step in enumerate(self._script):
                if request.kind in step.kinds:
                    return self._script.pop(index)
        return Step()

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops first; True when it is stopping."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()

    def reply_text(self, body: Any, last_user_text: str) -> str:
        reply = self.reply
        if reply is None:
            return f"Echo: {last_user_text}"
        return reply(body) if callable(reply) else reply

    def usage_for(self, step: Step, prompt: str, text: str) -> Usage:
        return (
            step.usage
            or self.usage
            or Usage(input_tokens=estimate_tokens(prompt), output_tokens=estimate_tokens(text))
        )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hang up mid-request (timeouts, a stream left early): not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a benchmark measures no connection set-up
    fake: FakeLLMServer

    def setup(self) -> None:
        super().setup()
        # Small writes (SSE frames) must leave at once, not wait for Nagle's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests capture logs and must see only their own."""

    def _serve(self) -> None:
        try:
            self._answer()
        except (Dropped, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _answer(self) -> None:
        url = urlsplit(self.path)
        parts = [part for part in url.path.split("/") if part]
        body = self._body()
        api, kind = self._route(parts)
        request = RecordedRequest(
            method=self.command,
            path=url.path,
            kind=kind,
            query=parse_qs(url.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        step = self.fake.record(request)
        exchange = Exchange(self, api, step, request.api_key)
        if self.fake.wait(step.delay):
            return
        if step.drop and step.break_after is None:
            exchange.drop()
        if self.fake.api_key is not None and request.api_key != self.fake.api_key:
            exchange.error(401, auth_failure().message)
        elif step.status != 200:
            exchange.error(step.status, step.message, step.headers)
        elif kind == "unknown":
            exchange.error(404, f"Unknown route {self.command} {url.path}.")
        elif not isinstance(body, dict) and self.command == "POST":
            exchange.error(400, "The body must be a JSON object.")
        else:
            api.handle(exchange, request)

    def _route(self, parts: list[str]) -> tuple[WireAPI, str]:
        openai, anthropic = OpenAIAPI(self.fake), AnthropicAPI(self.fake)
        for api in (anthropic, openai):
            kind = api.kind(self.command, parts)
            if kind:
                return api, kind
        return openai, "unknown"

    def _body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")


__all__ = [
    "AnthropicAPI",
    "Conversation",
    "FakeLLMServer",
    "OpenAIAPI",
    "RecordedRequest",
    "Step",
    "Usage",
    "answers_as",
    "auth_failure",
    "delayed",
    "estimate_tokens",
    "fail",
    "rate_limited",
    "slow_stream",
    "split_words",
    "stream_drop",
    "stream_error",
]
