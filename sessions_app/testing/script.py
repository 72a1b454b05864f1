"""What a fake LLM server is told to do (``Step``s, ``Usage``) and what it records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GENERATE = frozenset({"responses", "chat", "messages"})


AUTH_FAILURE = "{key}"  # ``Step.message`` placeholder for the presented API key


@dataclass(frozen=True)
class Usage:
    """Token counts of a reply, as totals: the cache and reasoning counts are subsets."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Step:
    """What the server does with the next request of one of ``kinds`` (one step a request).

    ``status`` other than 200 answers an API error (``message`` may hold ``{key}``, replaced by
    the presented API key, as the real services do). ``delay`` waits before answering (to
    provoke client timeouts). For streams: ``delta_delay`` waits before each delta, and
    ``break_after`` deltas are followed by an error frame, or by a dropped connection when
    ``drop`` (a ``drop`` without ``break_after`` closes the connection before any answer).
    ``text`` / ``usage`` override the server's reply for this request, ``model`` the model
    name it reports (by default the one asked for; real services name a dated snapshot).
    """

    status: int = 200
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    delta_delay: float = 0.0
    break_after: int | None = None
    drop: bool = False
    # OpenAI Responses streams only: end with ``response.failed`` instead of an ``error`` frame.
    response_failed: bool = False
    text: str | None = None
    usage: Usage | None = None
    model: str | None = None
    kinds: frozenset[str] = GENERATE


def fail(
    status: int,
    message: str = "",
    *,
    retry_after: float | None = None,
    retry_after_ms: float | None = None,
    kinds: frozenset[str] = GENERATE,
) -> Step:
    """An API error answer; ``retry_after`` (seconds) / ``retry_after_ms`` set those headers."""
    headers: list[tuple[str, str]] = []
    if retry_after is not None:
        headers.append(("retry-after", _number_text(retry_after)))
    if retry_after_ms is not None:
        headers.append(("retry-after-ms", _number_text(retry_after_ms)))
    return Step(status=status, message=message, headers=tuple(headers), kinds=kinds)


def rate_limited(retry_after: float = 0.01) -> Step:
    return fail(429, retry_after=retry_after)


def auth_failure() -> Step:
    """401 whose message repeats the presented key, the worst case for leak tests."""
    return fail(401, f"Incorrect API key provided: {AUTH_FAILURE}.")


def delayed(seconds: float) -> Step:
    return Step(delay=seconds)


def stream_error(after: int = 1, *, delta_delay: float = 0.0) -> Step:
    return Step(break_after=after, delta_delay=delta_delay)


def stream_drop(after: int = 1) -> Step:
    return Step(break_after=after, drop=True)


def answers_as(model: str) -> Step:
    """A reply that reports ``model`` (e.g. ``gpt-4o-2024-08-06`` for ``gpt-4o``)."""
    return Step(model=model)


def slow_stream(delta_delay: float) -> Step:
    return Step(delta_delay=delta_delay)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    kind: str  # "responses", "chat", "messages", "count_tokens", "conversations", "unknown"
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any

    @property
    def api_key(self) -> str:
        bearer = self.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            return bearer[7:]
        return self.headers.get("x-api-key", "")


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
