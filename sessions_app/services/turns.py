"""A conversation turn, the one entry point for the handle and the API.

A turn is three short steps: store the user message (one statement or one
short transaction), call the provider (no transaction open), store the reply.
It runs whole or streamed, sync or async; only a user message starts one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async

from sessions_app.models import Message, MessageRole, Session
from sessions_app.pipeline import Pipeline
from sessions_app.providers import Completion, TextDelta
from sessions_app.services.incoming import accept_message
from sessions_app.services.provider_requests import build_request
from sessions_app.services.replies import (
    Turn,
    fail_turn,
    finish_partially,
    finish_turn,
    no_completion,
)

TurnEvent = Message | TextDelta
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
    """Store the user message and prepare the provider's request."""
    provider = pipeline.get_provider(session.provider or None)
    message = accept_message(session, pipeline, content=content, metadata=metadata)
    return Turn(session, message, provider, build_request(session, provider), pipeline)


def complete_turn(turn: Turn) -> Message:
    try:
        completion = turn.provider.complete(turn.request)
    except Exception as exc:
        raise fail_turn(turn, exc) from exc
    return finish_turn(turn, completion)


async def acomplete_turn(turn: Turn) -> Message:
    try:
        completion = await turn.provider.acomplete(turn.request)
    except Exception as exc:
        raise await sync_to_async(fail_turn)(turn, exc) from exc
    return await sync_to_async(finish_turn)(turn, completion)


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


def stream_turn(turn: Turn) -> TurnStream:
    """Yield the stored user message, the reply's ``TextDelta``s, then the stored reply.

    A consumer that stops early (a client went away) leaves what was generated
    stored as an ``incomplete`` reply, an empty one if the reply had not begun.
    """
    parts: list[str] = []
    completion: Completion | None = None
    try:
        yield turn.message
        events = turn.provider.stream(turn.request)
        while completion is None:
            try:
                event = next(events)
            except StopIteration:
                raise fail_turn(turn, no_completion(turn)) from None
            except Exception as exc:
                raise fail_turn(turn, exc) from exc
            if isinstance(event, Completion):
                completion = event
            else:
                parts.append(event.text)
                yield event
    except GeneratorExit:
        finish_partially(turn, parts)
        raise
    yield finish_turn(turn, completion)


async def astream_turn(turn: Turn) -> AsyncTurnStream:
    parts: list[str] = []
    completion: Completion | None = None
    events = None
    try:
        yield turn.message
        events = turn.provider.astream(turn.request)
        while completion is None:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                raise await sync_to_async(fail_turn)(turn, no_completion(turn)) from None
            except Exception as exc:
                raise await sync_to_async(fail_turn)(turn, exc) from exc
            if isinstance(event, Completion):
                completion = event
            else:
                parts.append(event.text)
                yield event
    except (GeneratorExit, asyncio.CancelledError):
        # Closed early, or cancelled when an ASGI client disconnects: keep what was generated.
        if isinstance(events, AsyncGenerator):
            await events.aclose()
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
