"""Server-Sent Events of a conversation turn: ``message``, ``delta``…, then ``done`` or ``error``.

The same frames come from a sync iterator (WSGI) or an async one (ASGI,
where Django would otherwise buffer a sync iterator whole). When the client
goes away, the server closes (WSGI) or cancels (ASGI) the stream, and the
turn stores what was generated as an incomplete reply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from sessions_app.api.errors import error_body
from sessions_app.api.serializers import message_data
from sessions_app.exceptions import SessionError
from sessions_app.models import Message
from sessions_app.providers import TextDelta
from sessions_app.services.messages import Turn, abandon_turn, astream_turn, stream_turn

MEDIA_TYPE = "text/event-stream"
Finish = Callable[[str], None]  # receives the whole transcript once the stream ends


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


def _frame_of(item: TextDelta | Message) -> str:
    if isinstance(item, TextDelta):
        return frame("delta", {"text": item.text})
    return frame("done", message_data(item))


def _frames(turn: Turn, on_finish: Finish | None) -> Iterator[str]:
    transcript: list[str] = []
    events: Iterator[TextDelta | Message] | None = None
    try:
        transcript.append(frame("message", message_data(turn.message)))
        yield transcript[-1]
        events = stream_turn(turn)
        for item in events:
            transcript.append(_frame_of(item))
            yield transcript[-1]
    except SessionError as exc:
        transcript.append(frame("error", error_body(exc)))
        yield transcript[-1]
    finally:
        # A client that went away: the turn stores the partial reply. Closing a
        # generator that never ran runs none of its code, hence the abandon.
        if events is None:
            abandon_turn(turn)
        else:
            events.close()
        if on_finish is not None:
            on_finish("".join(transcript))


async def _aframes(turn: Turn, on_finish: Finish | None) -> AsyncIterator[str]:
    transcript: list[str] = []
    events: AsyncIterator[TextDelta | Message] | None = None
    try:
        transcript.append(frame("message", message_data(turn.message)))
        yield transcript[-1]
        events = astream_turn(turn)
        async for item in events:
            transcript.append(_frame_of(item))
            yield transcript[-1]
    except SessionError as exc:
        transcript.append(frame("error", error_body(exc)))
        yield transcript[-1]
    finally:
        if events is None:
            await sync_to_async(abandon_turn)(turn)
        else:
            await events.aclose()
        if on_finish is not None:
            await sync_to_async(on_finish)("".join(transcript))


def event_stream_response(
    turn: Turn, *, asynchronous: bool, on_finish: Finish | None = None
) -> StreamingHttpResponse:
    body = _aframes(turn, on_finish) if asynchronous else _frames(turn, on_finish)
    return stream_headers(StreamingHttpResponse(body, content_type=MEDIA_TYPE))


def stream_headers(response: Any) -> Any:
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies such as nginx must not buffer the stream
    return response
