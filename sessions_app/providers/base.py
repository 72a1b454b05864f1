"""The provider adapter interface: whole replies and streamed deltas, sync and async."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sessions_app.exceptions import ConfigurationError


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "user", "assistant" or "system"
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    """What a session asks of a provider: the history ends with the new user message."""

    model: str
    messages: list[ChatMessage]
    system: str | None = None
    max_tokens: int | None = None
    # Provider-native conversation state from the previous reply (e.g. a response id).
    provider_state: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def last_user_content(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""


@dataclass(frozen=True)
class Completion:
    """A whole reply with its usage."""

    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    provider_message_id: str = ""
    finish_reason: str = "stop"
    provider_state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextDelta:
    text: str


# A stream yields TextDelta events and ends with exactly one Completion.
StreamEvent = TextDelta | Completion

# Kinds of items ``Provider.astream``'s worker thread hands to the event loop.
_EVENT, _ERROR, _DONE = "event", "error", "done"


class Provider:
    """Base class of provider adapters; one instance serves many threads.

    Subclasses implement ``complete`` and ``stream``; async twins default to
    running the sync method in a thread, and SDK-backed adapters override them
    with native async calls.
    """

    name: str = ""
    supports_streaming: ClassVar[bool] = True
    # The model a session gets when neither it nor DEFAULT_MODEL / MODELS names one.
    fallback_model: ClassVar[str] = ""

    def __init__(self, *, name: str | None = None, **options: Any) -> None:
        self.name = name or self.name
        self.options = options
        # MODELS restricts the models a session may use; without it any name is accepted.
        self.models: list[str] = _model_names(options.get("MODELS"))
        self.default_model: str = _default_model(
            options.get("DEFAULT_MODEL"), self.models, self.fallback_model
        )
        self.prices: dict[str, dict[str, float]] = options.get("PRICES", {})

    def __repr__(self) -> str:
        # Never the options: they may hold an API key.
        return f"<{type(self).__name__} {self.name!r}>"

    @property
    def any_model(self) -> bool:
        return not self.models

    def accepts_model(self, model: str) -> bool:
        return self.any_model or model in self.models

    def complete(self, request: CompletionRequest) -> Completion:
        raise NotImplementedError

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        completion = self.complete(request)
        yield TextDelta(completion.text)
        yield completion

    async def acomplete(self, request: CompletionRequest) -> Completion:
        return await asyncio.to_thread(self.complete, request)

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        """Run the sync ``stream`` in a worker thread and hand each event over as it arrives."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()
        context = contextvars.copy_context()
        worker = loop.run_in_executor(
            None, functools.partial(context.run, self._pump, request, loop, queue, stop)
        )
        try:
            while True:
                kind, payload = await queue.get()
                if kind == _EVENT:
                    yield payload
                elif kind == _ERROR:
                    raise payload
                else:
                    break
            await worker
        finally:
            # The consumer may leave early (break, cancellation): tell the worker to stop
            # and close the sync stream instead of draining it.
            stop.set()

    def _pump(
        self,
        request: CompletionRequest,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[tuple[str, Any]],
        stop: threading.Event,
    ) -> None:
        """Worker-thread side of ``astream``: feed ``stream``'s events into ``queue``."""

        def send(item: tuple[str, Any]) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is closed: nobody is listening any more
                stop.set()

        outcome: tuple[str, Any] = (_DONE, None)
        events: Iterator[StreamEvent] | None = None
        try:
            events = iter(self.stream(request))
            for event in events:
                if stop.is_set():
                    break
                send((_EVENT, event))
        except Exception as exc:
            outcome = (_ERROR, exc)
        finally:
            try:
                # Close in this thread: a generator must not be closed from another thread
                # while it runs, and closing releases the SDK's HTTP response.
                close = getattr(events, "close", None)
                if close is not None:
                    close()
            finally:
                # Always end the consumer's wait, whatever happened above.
                send(outcome)

    def estimate_cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """Cost in the configured currency; ``PRICES`` are per million tokens."""
        price = self.prices.get(model) or self.prices.get("*") or {}
        input_cost = input_tokens * float(price.get("input", 0))
        output_cost = output_tokens * float(price.get("output", 0))
        return (input_cost + output_cost) / 1_000_000

    def check_session_options(self, options: dict[str, Any]) -> None:
        """Refuse (``ConfigurationError``) a session's ``provider_config`` this adapter cannot
        honour, when it is stored rather than at its first turn. Accepts anything here."""

    def cleanup_resources(self, session_id: str, state: dict[str, Any]) -> None:
        """Release what the provider keeps on its side for one session.

        ``state`` is the ``provider_state`` of the session's latest reply. A no-op here; an
        adapter with server-side state (e.g. an OpenAI conversation id) deletes it, and must
        tolerate being called again or for a state it never created.
        """

    def capabilities(self) -> dict[str, Any]:
        return {
            "name": self.name,
            # The known models: the restriction, or the default when any name is accepted.
            "models": self.models or [self.default_model],
            "any_model": self.any_model,
            "default_model": self.default_model,
            "streaming": self.supports_streaming,
        }


def _model_names(models: Any) -> list[str]:
    if models is None:
        return []
    if not isinstance(models, list | tuple) or not all(
        isinstance(model, str) and model for model in models
    ):
        raise ConfigurationError("MODELS must be a list of model names.")
    return list(models)


def _default_model(configured: Any, models: list[str], fallback: str) -> str:
    if configured is not None and not isinstance(configured, str):
        raise ConfigurationError("DEFAULT_MODEL must be a model name.")
    default = configured or (models[0] if models else fallback)
    if models and default not in models:
        raise ConfigurationError(f"DEFAULT_MODEL {default!r} is not one of MODELS.")
    return default
