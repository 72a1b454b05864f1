"""An interactive chat on a terminal (``manage.py chat``): one conversation, replies streamed.

Every turn goes through the session handle, the one turn entry point of any caller.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, cast

from sessions_app.conf import app_settings
from sessions_app.exceptions import SessionError
from sessions_app.handle import ConversationSession
from sessions_app.manager import SessionManager
from sessions_app.metrics import SessionMetrics
from sessions_app.models import Message, MessageStatus
from sessions_app.providers.base import TextDelta

RESUME_SHOWS = 6  # messages shown when a conversation is resumed
KEY_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
HELP = (
    "Type a message and press Enter. Commands:\n"
    "  /history  the stored conversation\n"
    "  /metrics  tokens, cost, response times and errors of this session\n"
    "  /help     this text\n"
    "  /quit     leave (so do Ctrl-D and Ctrl-C)"
)


class Output(Protocol):
    """Where the console writes: a text stream, or a command's ``self.stdout``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


def open_chat(
    *,
    sandbox: str | None = None,
    session_id: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    user: str | None = None,
    system: str | None = None,
) -> tuple[ConversationSession, bool]:
    """The conversation to chat in and whether it is resumed (``session_id`` given)."""
    manager = SessionManager(sandbox)
    if session_id:
        return manager.get_session(session_id), True
    session = manager.create_session(user_id=user, provider=provider, model=model)
    if system:
        session.send_system_message(system)
    return session, False


@contextlib.contextmanager
def ctrl_c_pressed() -> Iterator[threading.Event]:
    """While a reply streams, a first Ctrl-C is set in the event (the reply stops at its next
    delta, so the turn ends through its own code); a second one interrupts at once."""
    pressed = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        if pressed.is_set():
            raise KeyboardInterrupt
        pressed.set()

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: Ctrl-C keeps its usual meaning
        yield pressed
        return
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def known_secrets() -> tuple[str, ...]:
    """API keys of the configured providers and their environment, never to be printed."""
    configured = [
        (entry.get("OPTIONS") or {}).get("api_key")
        for entry in app_settings.PROVIDERS.values()
        if isinstance(entry, dict)
    ]
    from_env = [os.environ.get(name) for name in KEY_ENV_VARS]
    return tuple(key for key in configured + from_env if isinstance(key, str) and key)


@dataclass
class ChatConsole:
    """Reads lines from ``stdin`` and answers on ``out`` until /quit, end of input or Ctrl-C."""

    session: ConversationSession
    out: Output
    stream: bool = True
    secrets: tuple[str, ...] = ()
    commands: dict[str, Callable[[], None]] = field(init=False)

    def __post_init__(self) -> None:
        self.commands = {
            "/history": self.show_history,
            "/metrics": self.show_metrics,
            "/help": lambda: self.say(HELP),
        }

    def say(self, text: str = "", end: str = "\n") -> None:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        self.out.write(text + end)
        self.out.flush()

    def greet(self, resumed: bool) -> None:
        session = self.session
        self.say(f"Session {session.session_id} ({session.provider} / {session.model})")
        self.say(f"Resume it with: manage.py chat --session {session.session_id}")
        if resumed:
            self.show_messages(session.get_messages(limit=RESUME_SHOWS), earlier=True)
        self.say("Type /help for commands.")

    def run(self, stdin: IO[str], resumed: bool = False) -> None:
        self.greet(resumed)
        try:
            while (line := self.read(stdin)) is not None:
                if line == "/quit":
                    break
                if line:
                    self.handle_line(line)
        except KeyboardInterrupt:
            self.say()
        self.say("Bye.")

    def read(self, stdin: IO[str]) -> str | None:
        self.say("you> ", end="")
        line = stdin.readline()
        if not line:  # end of input
            self.say()
            return None
        return line.strip()

    def handle_line(self, line: str) -> None:
        if line.startswith("/"):
            self.commands.get(line.split()[0], lambda: self.unknown(line))()
            return
        try:
            reply = self.send(line)
        except SessionError as exc:
            self.say(f"error: {exc.message} (reason: {exc.error_code})")
        else:
            if reply is not None and reply.status == MessageStatus.INCOMPLETE:
                self.say("[incomplete reply]")

    def unknown(self, line: str) -> None:
        self.say(f"Unknown command {line.split()[0]!r}; /help lists the commands.")

    def send(self, text: str) -> Message | None:
        """Send ``text``; the stored reply, or ``None`` when Ctrl-C cut the reply short."""
        if not self.stream:
            reply = self.session.send_message(text)
            self.say(f"assistant> {reply.content}")
            return reply
        events = self.session.stream_message(text)
        with ctrl_c_pressed() as pressed:
            try:
                return self.print_stream(events, pressed)
            finally:
                events.close()  # after Ctrl-C: stores what arrived as an incomplete reply

    def print_stream(self, events: Iterator[Any], pressed: threading.Event) -> Message | None:
        next(events)  # the stored user message
        self.say("assistant> ", end="")
        try:
            for event in events:
                if not isinstance(event, TextDelta):
                    self.say()
                    return cast(Message, event)
                self.say(event.text, end="")
                if pressed.is_set():
                    self.say("\n[interrupted]")
                    return None
        except SessionError:
            self.say()  # the error goes on a line of its own, after what arrived
            raise
        raise SessionError("The reply stream ended without a reply.")

    def show_history(self) -> None:
        self.show_messages(self.session.get_messages())

    def show_messages(self, messages: list[Message], earlier: bool = False) -> None:
        hidden = self.session.refresh().message_count - len(messages) if earlier else 0
        if hidden > 0:
            self.say(f"… {hidden} earlier messages (/history shows them)")
        for message in messages:
            flag = "" if message.status == MessageStatus.COMPLETE else f" [{message.status}]"
            self.say(f"{message.seq:>4} {message.role}{flag}: {message.content}")
        if not messages:
            self.say("(no messages yet)")

    def show_metrics(self) -> None:
        for label, value in metric_lines(self.session.get_metrics()):
            self.say(f"{label + ':':<22}{value}")


def metric_lines(metrics: SessionMetrics) -> list[tuple[str, str]]:
    """``/metrics`` as (label, value) rows."""
    m = metrics
    messages = f"{m.user_messages} user, {m.assistant_messages} assistant"
    cached = f"{m.cached_input_tokens} cached, {m.cache_write_tokens} written to cache"
    return [
        ("messages", f"{m.total_messages} ({messages}, {m.system_messages} system)"),
        ("input tokens", f"{m.input_tokens} ({cached})"),
        ("output tokens", f"{m.output_tokens} ({m.reasoning_tokens} reasoning)"),
        ("cost", cost_text(m)),
        ("avg response time", f"{m.avg_response_time_ms:.0f} ms"),
        ("time to first token", ttft_text(m)),
        ("provider calls", str(m.provider_calls)),
        ("provider errors", str(m.provider_errors)),
    ]


def cost_text(metrics: SessionMetrics) -> str:
    """The estimated cost; "unknown" (never 0) when no reply had a known price."""
    if metrics.cost_status == "unknown" or metrics.estimated_cost is None:
        return "unknown"
    cost = f"{metrics.estimated_cost:.6f}"
    unpriced = metrics.unpriced_replies
    return f"{cost} + unknown ({unpriced} replies without a price)" if unpriced else cost


def ttft_text(metrics: SessionMetrics) -> str:
    ttft = metrics.avg_time_to_first_token_ms
    return "n/a" if ttft is None else f"{ttft:.0f} ms"
