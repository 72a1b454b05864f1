"""The provider adapter interface: whole replies and streamed deltas, sync and async."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, cast

from sessions_app.exceptions import ConfigurationError
from sessions_app.providers.pricing import configured_price, price_completion, validate_prices


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
    # Our session's public id, e.g. for a provider conversation's metadata.
    session_id: str = ""

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
    input_tokens: int = 0  # all input tokens, cached and cache-written included
    output_tokens: int = 0  # reasoning tokens included
    provider_message_id: str = ""
    finish_reason: str = "stop"
    provider_state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    cached_input_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_write_tokens: int = 0  # of input_tokens, written to the prompt cache
    reasoning_tokens: int = 0  # of output_tokens


@dataclass(frozen=True)
class TokenCount:
    """The input tokens of a request, and who counted them ("estimate", "tiktoken", …)."""

    tokens: int
    method: str


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
    # The genai-prices provider id ("openai", "anthropic") pricing models not in PRICES.
    price_provider_id: ClassVar[str | None] = None

    def __init__(self, *, name: str | None = None, **options: Any) -> None:
        self.name = name or self.name
        self.options = options
        # MODELS restricts the models a session may use; without it any name is accepted.
        self.models: list[str] = _model_names(options.get("MODELS"))
        self.default_model: str = _default_model(
            options.get("DEFAULT_MODEL"), self.models, self.fallback_model
        )
        self.prices: dict[str, dict[str, Decimal]] = validate_prices(options.get("PRICES"))
        self._context_budget = validate_context_budget(options.get("CONTEXT_BUDGET"))

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

    def price(self, completion: Completion, requested_model: str | None = None) -> Decimal | None:
        """The reply's cost (``PRICES``, else the genai-prices snapshot); ``None``: unknown.

        The hook to override for custom pricing; ``requested_model`` is the model the request
        named (the reply may report a more precise one). An adapter that overrides only the
        older ``estimate_cost`` is priced by it."""
        if type(self).estimate_cost is not Provider.estimate_cost:
            cost = self.estimate_cost(
                completion.model, completion.input_tokens, completion.output_tokens
            )
            return Decimal(str(cost))
        return price_completion(completion, self.prices, self.price_provider_id, requested_model)

    def count_tokens(self, request: CompletionRequest) -> TokenCount:
        """The request's input tokens; here an estimate of about four characters a token."""
        return TokenCount(estimate_tokens(request), "estimate")

    async def acount_tokens(self, request: CompletionRequest) -> TokenCount:
        # An adapter may count through its provider's API: keep that off the event loop.
        return await asyncio.to_thread(self.count_tokens, request)

    def context_budget(self, model: str) -> int | None:
        """The most input tokens a request for ``model`` may hold (``CONTEXT_BUDGET``)."""
        budget = self._context_budget
        if isinstance(budget, dict):
            return budget.get(model, budget.get("*"))
        return budget

    def sends_history(self, request: CompletionRequest) -> bool:
        """Whether ``request.messages`` go to the provider; ``False`` when the provider keeps
        the conversation itself (so trimming the history saves nothing)."""
        return True

    def estimate_cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """Cost in the configured currency; ``PRICES`` are per million tokens.

        Kept for compatibility: the store prices replies by ``price``, which calls this
        when a subclass overrides it."""
        price = self.prices.get(model) or self.prices.get("*")
        if price is None:
            return 0.0
        usage = Completion(
            text="", model=model, input_tokens=input_tokens, output_tokens=output_tokens
        )
        return float(configured_price(usage, price))

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


# Tokens a message costs beyond its text (role markers and separators), roughly.
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def estimate_tokens(request: CompletionRequest) -> int:
    """A cheap, provider-neutral estimate of a request's input tokens."""
    total = sum(
        estimate_text_tokens(message.content) + MESSAGE_OVERHEAD_TOKENS
        for message in request.messages
    )
    if request.system:
        total += estimate_text_tokens(request.system) + MESSAGE_OVERHEAD_TOKENS
    return total


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def validate_context_budget(budget: Any) -> int | dict[str, int] | None:
    """``CONTEXT_BUDGET`` as the provider reads it; ``ConfigurationError`` if malformed."""
    if budget is None or _positive_int(budget):
        return cast(int | None, budget)
    if (
        isinstance(budget, dict)
        and all(isinstance(model, str) and model for model in budget)
        and all(_positive_int(tokens) for tokens in budget.values())
    ):
        return dict(budget)
    raise ConfigurationError(
        "CONTEXT_BUDGET must be a positive number of tokens or a dict of model names "
        '(or "*") to positive numbers of tokens.'
    )


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
