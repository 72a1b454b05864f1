"""A session's messages: history, send (JSON or a Server-Sent Events stream), clear, one."""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from sessions_app.api.access import IsUserOrKeyHolder
from sessions_app.api.base import IDEMPOTENCY_KEY, ApiView, errors
from sessions_app.api.filters import DocumentedFilters
from sessions_app.api.idempotency import respond_once
from sessions_app.api.inputs import MessageInput, validated
from sessions_app.api.outputs import MessageOutput, TurnOutput
from sessions_app.api.pagination import MessageCursorPagination
from sessions_app.api.streaming import (
    MEDIA_TYPE,
    EventStreamRenderer,
    Finish,
    event_stream_response,
)
from sessions_app.api.views.lookup import OneSession
from sessions_app.exceptions import SessionNotFoundError
from sessions_app.models import Message
from sessions_app.pipeline import get_default_pipeline
from sessions_app.services import listings, messages, turns
from sessions_app.services.filters import MessageFilter
from sessions_app.services.representations import message_representation
from sessions_app.services.selectors import find_message

STREAM_DESCRIPTION = (
    "With `Accept: text/event-stream`, a user message's reply streams as Server-Sent Events: "
    '`message` (the stored user message), `delta` (`{"text"}`) for each part of the reply, '
    "then `done` (the stored reply) or `error` (`{detail, code}`)."
)

# One event of the stream, as a client's SSE parser reads it (``data`` is JSON text).
STREAM_EVENT = inline_serializer(
    "StreamEvent",
    {
        "event": serializers.ChoiceField(choices=["message", "delta", "done", "error"]),
        "data": serializers.CharField(),
    },
)


class MessageViewSet(OneSession, ApiView, GenericViewSet):
    """A session's messages, in the order they were stored."""

    permission_classes = [IsUserOrKeyHolder]
    pagination_class = MessageCursorPagination
    filter_backends = [DocumentedFilters]
    filterset_class = MessageFilter
    serializer_class = MessageOutput
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    queryset = Message.objects.none()  # names the model for the schema; lists are the selector's
    session_url_kwarg = "session_pk"

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Errors and JSON answers are JSON, whatever the client asked to stream.
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), EventStreamRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(responses={200: MessageOutput(many=True), **errors(400, 401, 404, 429)})
    def list(self, request: Request, session_pk: Any) -> Response:
        page = self.paginate_queryset(listings.message_rows(self.session(), request.query_params))
        assert page is not None  # the view has a pagination_class
        return self.get_paginated_response(listings.message_page(page))

    @extend_schema(
        request=MessageInput,
        parameters=[IDEMPOTENCY_KEY],
        description=STREAM_DESCRIPTION,
        responses={
            (201, "application/json"): TurnOutput,
            (200, MEDIA_TYPE): OpenApiResponse(STREAM_EVENT, description=STREAM_DESCRIPTION),
            **errors(400, 401, 404, 409, 413, 422, 429, 502),
        },
    )
    def create(self, request: Request, session_pk: Any) -> Any:
        streaming = isinstance(request.accepted_renderer, EventStreamRenderer)
        return respond_once(
            self,
            request,
            lambda finish: self._send(request, streaming, finish),
            streaming=streaming,
        )

    def _send(self, request: Request, streaming: bool, on_finish: Finish | None) -> Any:
        given = validated(MessageInput, request.data)
        session, pipeline = self.session(), get_default_pipeline()
        content, role, metadata = given["content"], given["role"], given.get("metadata")
        if streaming and turns.expects_reply(role):
            # Started here, so that a refusal is a plain JSON answer rather than a stream.
            turn = turns.start_turn(session, pipeline, content=content, metadata=metadata)
            asynchronous = isinstance(request._request, ASGIRequest)
            return event_stream_response(turn, asynchronous=asynchronous, on_finish=on_finish)
        sent = turns.send(session, pipeline, content=content, role=role, metadata=metadata)
        reply = None if sent.reply is None else message_representation(sent.reply)
        body = {"message": message_representation(sent.message), "reply": reply}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, **errors(401, 404, 409, 429)})
    def clear(self, request: Request, session_pk: Any) -> Response:
        messages.clear_messages(self.session())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: MessageOutput, **errors(401, 404, 429)})
    def retrieve(self, request: Request, session_pk: Any, pk: Any) -> Response:
        message = find_message(self.session(), pk)
        if message is None:
            raise SessionNotFoundError("Message not found.", error_code="message_not_found")
        return Response(message_representation(message))
