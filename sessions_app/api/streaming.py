"""Server-Sent Events of a conversation turn: ``message``, ``delta``…, then ``done`` or ``error``.

The same frames come from a sync iterator (WSGI) or an async one (ASGI,
where Django would otherwise buffer a sync iterator whole). When the client
goes away, the server closes (WSGI) or cancels (ASGI) the stream, and the
turn stores what was generated as an incomplete reply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from rest_framework.renderers import BaseRenderer

from sessions_app.api.errors import error_body
from sessions_app.exceptions import SessionError
from sessions_app.providers import TextDelta
from sessions_app.services.replies import Turn
from sessions_app.services.representations import message_representation
from sessions_app.services.turns import TurnEvent, astream_turn, stream_turn

MEDIA_TYPE = "text/event-stream"
Finish = Callable[[str], None]  # receives the whole transcript once the stream ends
R = TypeVar("R", bound=HttpResponseBase)


class EventStreamRenderer(BaseRenderer):
    """Lets content negotiation accept ``text/event-stream``; the view streams the body."""

    media_type = MEDIA_TYPE
    format = "sse"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        return frame("error", data).encode() if data is not None else b""


def frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, cls=DjangoJSONEncoder)}\n\n"


class _Transcript:
    """The frames of one turn's stream, kept whole for ``on_finish`` (an idempotent replay)."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.frames: list[str] = []

    def add(self, event: TurnEvent | SessionError) -> str:
        self.frames.append(self._frame_of(event))
        return self.frames[-1]

    def text(self) -> str:
        return "".join(self.frames)

    def _frame_of(self, event: TurnEvent | SessionError) -> str:
        if isinstance(event, SessionError):
            return frame("error", error_body(event))
        if isinstance(event, TextDelta):
            return frame("delta", {"text": event.text})
        kind = "message" if event is self.turn.message else "done"
        return frame(kind, message_representation(event))


def _frames(turn: Turn, on_finish: Finish | None) -> Iterator[str]:
    transcript, events = _Transcript(turn), stream_turn(turn)
    try:
        for event in events:
            yield transcript.add(event)
    except SessionError as exc:
        yield transcript.add(exc)
    finally:
        events.close()  # a client that went away: the turn stores what was generated
        if on_finish is not None:
            on_finish(transcript.text())


async def _aframes(turn: Turn, on_finish: Finish | None) -> AsyncIterator[str]:
    transcript, events = _Transcript(turn), astream_turn(turn)
    try:
        async for event in events:
            yield transcript.add(event)
    except SessionError as exc:
        yield transcript.add(exc)
    finally:
        await events.aclose()
        if on_finish is not None:
            await sync_to_async(on_finish)(transcript.text())


def event_stream_response(
    turn: Turn, *, asynchronous: bool, on_finish: Finish | None = None
) -> StreamingHttpResponse:
    body = _aframes(turn, on_finish) if asynchronous else _frames(turn, on_finish)
    return stream_headers(StreamingHttpResponse(body, content_type=MEDIA_TYPE))


def stream_headers(response: R) -> R:
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies such as nginx must not buffer the stream
    return response
