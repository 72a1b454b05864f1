"""A provider that needs no network: a patterned reply, an artificial delay and injected errors.

Used by development setups, the demo project and tests. With a ``seed`` its error decisions and
message ids are reproducible, so a test can predict which call fails. It answers for any model
name unless ``MODELS`` restricts it. A session's ``provider_config`` may set
``response_pattern``, ``delay`` (seconds), ``delay_ms`` or ``error_rate`` for that session only
(see ``MockProviderSession``).
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sessions_app.exceptions import ConfigurationError, ProviderError
from sessions_app.providers.base import (
    Completion,
    CompletionRequest,
    Provider,
    StreamEvent,
    TextDelta,
)

DEFAULT_MODEL = "mock-model"
DEFAULT_PATTERN = "Mock response to: {input}"
INPUT_PLACEHOLDER = "{input}"

# Splits before every word that follows whitespace, so each piece is a word with its trailing
# whitespace and the pieces join back to the exact text.
_WORD_BOUNDARY = re.compile(r"(?<=\s)(?=\S)")


def count_tokens(text: str) -> int:
    """A rough, deterministic token count: about four characters a token, at least one."""
    return max(1, math.ceil(len(text) / 4))


def split_chunks(text: str, words_per_chunk: int) -> list[str]:
    """``text`` in pieces of ``words_per_chunk`` words whose concatenation is ``text``."""
    words = [piece for piece in _WORD_BOUNDARY.split(text) if piece]
    return [
        "".join(words[start : start + words_per_chunk])
        for start in range(0, len(words), words_per_chunk)
    ]


@dataclass(frozen=True)
class _Reply:
    """One planned answer: the completion, its stream chunks and the pause before each chunk."""

    completion: Completion
    chunks: list[str]
    delay: float

    @property
    def chunk_delay(self) -> float:
        return self.delay / len(self.chunks) if self.chunks else 0.0


def _number(option: str, value: Any) -> float:
    # bool is an int subclass; ``delay=True`` is a configuration mistake, not one second.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigurationError(
            f"Mock provider option {option!r} must be a number, got {value!r}."
        )
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(
            f"Mock provider option {option!r} must be a number, got {value!r}."
        ) from None
    if not math.isfinite(number):
        raise ConfigurationError(f"Mock provider option {option!r} must be finite, got {value!r}.")
    return number


def _validate_delay(value: Any, option: str = "delay") -> float:
    delay = _number(option, value)
    if delay < 0:
        raise ConfigurationError(f"Mock provider option {option!r} must be >= 0, got {value!r}.")
    return delay


def _validate_session_delay(value: Any) -> float:
    delay = _validate_delay(value)
    if delay > MAX_SESSION_DELAY:
        raise ConfigurationError(
            f"Mock provider option 'delay' of a session is at most {MAX_SESSION_DELAY} seconds."
        )
    return delay


def _validate_delay_ms(value: Any) -> float:
    delay_ms = _validate_delay(value, "delay_ms")
    if delay_ms > MAX_SESSION_DELAY * 1000:
        raise ConfigurationError(
            f"Mock provider option 'delay_ms' is at most {MAX_SESSION_DELAY * 1000} milliseconds."
        )
    return delay_ms


def _validate_error_rate(value: Any) -> float:
    rate = _number("error_rate", value)
    if not 0 <= rate <= 1:
        raise ConfigurationError(
            f"Mock provider option 'error_rate' must be between 0 and 1, got {value!r}."
        )
    return rate


def _validate_seed(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigurationError(
            f"Mock provider option 'seed' must be an integer or None, got {value!r}."
        )
    return value


def _validate_chunk_words(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ConfigurationError(
        f"Mock provider option 'stream_chunk_words' must be an integer >= 1, got {value!r}."
    )


def _validate_pattern(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(
            f"Mock provider option 'response_pattern' must be a string, got {value!r}."
        )
    return value


# A session's own delay: its config comes from API clients, who must not hold a worker for long.
MAX_SESSION_DELAY = 60

# The options a session's provider_config may set for that session only.
SESSION_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "response_pattern": _validate_pattern,
    "delay": _validate_session_delay,
    "delay_ms": _validate_delay_ms,
    "error_rate": _validate_error_rate,
}


def validate_session_option(option: str, value: Any) -> Any:
    """``value`` as the mock reads per-session ``option``; ``ConfigurationError`` if invalid."""
    return SESSION_OPTIONS[option](value)


@dataclass(frozen=True)
class _Behaviour:
    """What one call does: the instance's options, overridden by the session's."""

    response_pattern: str
    delay: float
    error_rate: float


def _reject_unknown(options: dict[str, Any]) -> None:
    # Upper-case keys are the settings-level ones (DEFAULT_MODEL, MODELS, PRICES, …) that the
    # base class reads; a lower-case key here is a misspelt or unsupported mock option.
    unknown = sorted(key for key in options if not key.isupper())
    if unknown:
        known = "api_key, delay, error_rate, response_pattern, seed, stream_chunk_words"
        raise ConfigurationError(
            f"Unknown mock provider option(s): {', '.join(unknown)}. Known options: {known}."
        )


class MockProvider(Provider):
    """Answers ``response_pattern`` with ``{input}`` replaced by the last user message."""

    name = "mock"
    fallback_model = DEFAULT_MODEL

    def __init__(
        self,
        *,
        name: str | None = None,
        response_pattern: str = DEFAULT_PATTERN,
        delay: float = 0.0,
        error_rate: float = 0.0,
        seed: int | None = None,
        stream_chunk_words: int = 1,
        api_key: str | None = None,
        **options: Any,
    ) -> None:
        # Accepted so a provider name backed by the mock can be given a key; never kept.
        del api_key
        _reject_unknown(options)
        super().__init__(name=name, **options)
        self.response_pattern = _validate_pattern(response_pattern)
        self.delay = _validate_delay(delay)
        self.error_rate = _validate_error_rate(error_rate)
        self.seed = _validate_seed(seed)
        self.stream_chunk_words = _validate_chunk_words(stream_chunk_words)
        self._random = random.Random(self.seed)
        # One instance serves many threads; Random is not safe to share without a lock, and the
        # seeded sequence is only reproducible if draws are not interleaved mid-call.
        self._random_lock = threading.Lock()

    # -- the reply ---------------------------------------------------------------------------

    def _behaviour(self, options: Mapping[str, Any]) -> _Behaviour:
        """This instance's pattern, delay and error rate, overridden by a session's options.

        A session's invalid option fails the call (the session's config is at fault, not the
        instance's), like a real provider refusing a request's parameters.
        """
        try:
            session = {
                option: validate_session_option(option, options[option])
                for option in SESSION_OPTIONS
                if option in options
            }
        except ConfigurationError as exc:
            raise ProviderError(
                f"Mock provider {self.name!r}: invalid provider_config: {exc.message}",
                provider=self.name,
                status_code=400,
            ) from None
        delay = session["delay_ms"] / 1000 if "delay_ms" in session else session.get("delay")
        return _Behaviour(
            response_pattern=session.get("response_pattern", self.response_pattern),
            delay=self.delay if delay is None else delay,
            error_rate=session.get("error_rate", self.error_rate),
        )

    def check_session_options(self, options: dict[str, Any]) -> None:
        for option in SESSION_OPTIONS.keys() & options.keys():
            validate_session_option(option, options[option])

    def render(self, request: CompletionRequest, pattern: str | None = None) -> str:
        """The reply text; ``str.replace`` so braces in the user's text are taken literally."""
        pattern = self.response_pattern if pattern is None else pattern
        return pattern.replace(INPUT_PLACEHOLDER, request.last_user_content)

    def count_input_tokens(self, request: CompletionRequest) -> int:
        total = sum(count_tokens(message.content) for message in request.messages)
        if request.system:
            total += count_tokens(request.system)
        return total

    def _draw(self, error_rate: float) -> tuple[bool, str]:
        """Whether this call fails, and the id its reply gets (both from the seeded sequence)."""
        with self._random_lock:
            fails = self._random.random() < error_rate
            message_id = f"mock-{self._random.getrandbits(64):016x}"
        return fails, message_id

    def _plan(self, request: CompletionRequest) -> _Reply:
        behaviour = self._behaviour(request.options)
        fails, message_id = self._draw(behaviour.error_rate)
        if fails:
            raise ProviderError(
                f"Mock provider {self.name!r} failed on purpose "
                f"(error_rate={behaviour.error_rate}).",
                provider=self.name,
                retryable=True,
                status_code=503,
            )
        text = self.render(request, behaviour.response_pattern)
        completion = Completion(
            text=text,
            model=request.model or self.default_model,
            input_tokens=self.count_input_tokens(request),
            output_tokens=count_tokens(text),
            provider_message_id=message_id,
            finish_reason="stop",
            provider_state={"last_response_id": message_id},
        )
        return _Reply(completion, split_chunks(text, self.stream_chunk_words), behaviour.delay)

    # -- sync ---------------------------------------------------------------------------------

    def complete(self, request: CompletionRequest) -> Completion:
        reply = self._plan(request)
        if reply.delay:
            time.sleep(reply.delay)
        return reply.completion

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        reply = self._plan(request)
        if not reply.chunks and reply.delay:
            time.sleep(reply.delay)
        for chunk in reply.chunks:
            if reply.chunk_delay:
                time.sleep(reply.chunk_delay)
            yield TextDelta(chunk)
        yield reply.completion

    # -- async --------------------------------------------------------------------------------

    async def acomplete(self, request: CompletionRequest) -> Completion:
        reply = self._plan(request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return reply.completion

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamEvent]:
        reply = self._plan(request)
        if not reply.chunks and reply.delay:
            await asyncio.sleep(reply.delay)
        for chunk in reply.chunks:
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield TextDelta(chunk)
        yield reply.completion

    def price(self, completion: Completion, requested_model: str | None = None) -> Decimal | None:
        # Nobody bills the mock: a model without a configured price costs a known nothing.
        return super().price(completion, requested_model) or Decimal(0)

    def capabilities(self) -> dict[str, Any]:
        return {
            **super().capabilities(),
            "delay": self.delay,
            "error_rate": self.error_rate,
        }
