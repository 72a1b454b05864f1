"""A conversation turn, the one entry point for the handle and the API.

A turn is three short steps: store the user message (one statement or one
short transaction), call the provider (no transaction open), store the reply.
It runs whole or streamed, sync or async; only a user message starts one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async

from sessions_app.models import Message, MessageRole, Session
from sessions_app.pipeline import Pipeline
from sessions_app.providers import Completion, StreamEvent, TextDelta
from sessions_app.services.context_budget import Fitted, afit, fit
from sessions_app.services.incoming import accept_message
from sessions_app.services.provider_requests import build_request
from sessions_app.services.replies import (
    Turn,
    fail_turn,
    finish_partially,
    finish_turn,
    interrupt_turn,
    no_completion,
)

logger = logging.getLogger(__name__)

TurnEvent = Message | TextDelta
# How a stream's consumer can leave it (close, Ctrl-C, exit); the async one also by cancellation.
ABANDONED: tuple[type[BaseException], ...] = (GeneratorExit, KeyboardInterrupt, SystemExit)
AABANDONED: tuple[type[BaseException], ...] = (*ABANDONED, asyncio.CancelledError)
TurnStream = Generator[TurnEvent, None, None]
AsyncTurnStream = AsyncGenerator[TurnEvent, None]


@dataclass(frozen=True)
class Exchange:
    """A stored message and, for a user message, the provider's stored reply."""

    message: Message
    reply: Message | None = None

    @property
    def answer(self) -> Message:
        """The reply, or the message itself when none was due."""
        return self.message if self.reply is None else self.reply


def expects_reply(role: Any) -> bool:
    """Only a user message starts a provider turn; a system message is only stored."""
    return bool(role == MessageRole.USER)


def start_turn(
    session: Session, pipeline: Pipeline, *, content: Any, metadata: dict[str, Any] | None = None
) -> Turn:
    """Store the user message and prepare the provider's request.

    The request is fitted into the context budget later, with the provider call, so that an
    async turn awaits a provider's token counting instead of blocking on it.
    """
    provider = pipeline.get_provider(session.provider or None)
    message = accept_message(session, pipeline, content=content, metadata=metadata)
    return Turn(session, message, provider, build_request(session, provider), pipeline)


def _use(turn: Turn, fitted: Fitted) -> None:
    turn.request, turn.context = fitted.request, fitted.record


def complete_turn(turn: Turn) -> Message:
    try:
        _use(turn, fit(turn.provider, turn.request))
        completion = turn.provider.complete(turn.request)
    except Exception as exc:
        raise fail_turn(turn, exc) from exc
    return finish_turn(turn, completion)


async def acomplete_turn(turn: Turn) -> Message:
    try:
        _use(turn, await afit(turn.provider, turn.request))
        completion = await turn.provider.acomplete(turn.request)
    except Exception as exc:
        raise await sync_to_async(fail_turn)(turn, exc) from exc
    return await sync_to_async(finish_turn)(turn, completion)


def _failed(turn: Turn, parts: list[str], exc: Exception) -> Exception:
    """The error to raise when the provider fails: before any text the turn fails, after
    some the text is kept as an incomplete reply."""
    return interrupt_turn(turn, parts, exc) if parts else fail_turn(turn, exc)


def send(
    session: Session,
    pipeline: Pipeline,
    *,
    content: Any,
    role: Any = MessageRole.USER,
    metadata: dict[str, Any] | None = None,
) -> Exchange:
    """Store a message; a user message also gets the provider's reply, stored."""
    if not expects_reply(role):
        return Exchange(
            accept_message(session, pipeline, content=content, role=role, metadata=metadata)
        )
    turn = start_turn(session, pipeline, content=content, metadata=metadata)
    return Exchange(turn.message, complete_turn(turn))


async def asend(
    session: Session,
    pipeline: Pipeline,
    *,
    content: Any,
    role: Any = MessageRole.USER,
    metadata: dict[str, Any] | None = None,
) -> Exchange:
    if not expects_reply(role):  # nothing to await
        return await sync_to_async(send)(
            session, pipeline, content=content, role=role, metadata=metadata
        )
    turn = await sync_to_async(start_turn)(session, pipeline, content=content, metadata=metadata)
    return Exchange(turn.message, await acomplete_turn(turn))


def _received(turn: Turn, parts: list[str], delta: TextDelta) -> None:
    if delta.text:  # an empty delta carries no token: it does not end the wait for the first
        turn.received_text()
        parts.append(delta.text)


def stream_turn(turn: Turn) -> TurnStream:
    """Yield the stored user message, the reply's ``TextDelta``s, then the stored reply.

    A consumer that stops early (a client went away) leaves what was generated
    stored as an ``incomplete`` reply, an empty one if the reply had not begun.
    """
    parts: list[str] = []
    completion: Completion | None = None
    events: Iterator[StreamEvent] | None = None
    try:
        yield turn.message
        try:
            _use(turn, fit(turn.provider, turn.request))
            events = turn.provider.stream(turn.request)
        except Exception as exc:
            raise fail_turn(turn, exc) from exc
        while completion is None:
            try:
                event = next(events)
            except StopIteration:
                raise _failed(turn, parts, no_completion(turn)) from None
            except Exception as exc:
                raise _failed(turn, parts, exc) from exc
            if isinstance(event, Completion):
                completion = event
            else:
                _received(turn, parts, event)
                yield event
    except ABANDONED:
        # Release the provider's HTTP response now rather than when collected.
        close = getattr(events, "close", None)
        try:
            if close is not None:
                close()
        except Exception:
            # The reply is stored all the same; a failed close must not hide why we stopped.
            logger.warning(
                "Closing the provider stream of %s failed.", turn.session.pk, exc_info=True
            )
        finish_partially(turn, parts)
        raise
    yield finish_turn(turn, completion)


async def astream_turn(turn: Turn) -> AsyncTurnStream:
    parts: list[str] = []
    completion: Completion | None = None
    events = None
    try:
        yield turn.message
        try:
            _use(turn, await afit(turn.provider, turn.request))
            events = turn.provider.astream(turn.request)
        except Exception as exc:
            raise await sync_to_async(fail_turn)(turn, exc) from exc
        while completion is None:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                raise await sync_to_async(_failed)(turn, parts, no_completion(turn)) from None
            except Exception as exc:
                raise await sync_to_async(_failed)(turn, parts, exc) from exc
            if isinstance(event, Completion):
                completion = event
            else:
                _received(turn, parts, event)
                yield event
    except AABANDONED:
        # Closed early, or cancelled when an ASGI client disconnects: keep what was generated.
        try:
            if isinstance(events, AsyncGenerator):
                await events.aclose()
        except Exception:
            # The reply is stored all the same; a failed close must not hide why we stopped.
            logger.warning(
                "Closing the provider stream of %s failed.", turn.session.pk, exc_info=True
            )
        await sync_to_async(finish_partially)(turn, parts)
        raise
    yield await sync_to_async(finish_turn)(turn, completion)


def stream(
    session: Session, pipeline: Pipeline, *, content: Any, metadata: dict[str, Any] | None = None
) -> TurnStream:
    """``stream_turn`` of a user turn that starts when the stream is first read."""
    yield from stream_turn(start_turn(session, pipeline, content=content, metadata=metadata))


async def astream(
    session: Session, pipeline: Pipeline, *, content: Any, metadata: dict[str, Any] | None = None
) -> AsyncTurnStream:
    turn = await sync_to_async(start_turn)(session, pipeline, content=content, metadata=metadata)
    events = astream_turn(turn)
    try:
        async for event in events:
            yield event
    finally:
        # Close the inner stream now, so an early exit stores the partial reply.
        await events.aclose()
