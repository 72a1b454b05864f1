"""A session's messages: history, send (JSON or a Server-Sent Events stream), clear, one."""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from sessions_app.api import serializers as s
from sessions_app.api.access import IsUserOrKeyHolder, session_for
from sessions_app.api.base import ApiView, errors
from sessions_app.api.filters import MessageFilter
from sessions_app.api.idempotency import respond_once
from sessions_app.api.pagination import MessageCursorPagination
from sessions_app.api.streaming import (
    MEDIA_TYPE,
    EventStreamRenderer,
    Finish,
    event_stream_response,
)
from sessions_app.api.views import IDEMPOTENCY_KEY, handle_of
from sessions_app.exceptions import SessionNotFoundError
from sessions_app.models import Message, MessageRole, Session
from sessions_app.services import messages
from sessions_app.services.selectors import parse_session_id

STREAM_DESCRIPTION = (
    "With `Accept: text/event-stream`, a user message's reply streams as Server-Sent Events: "
    '`message` (the stored user message), `delta` (`{"text"}`) for each part of the reply, '
    "then `done` (the stored reply) or `error` (`{detail, code}`)."
)


class MessageViewSet(ApiView, GenericViewSet):
    permission_classes = [IsUserOrKeyHolder]
    pagination_class = MessageCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = MessageFilter
    serializer_class = s.MessageOutput
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def session(self) -> Session:
        return session_for(self.request, self.kwargs["session_pk"])

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no session
            return Message.objects.none()
        return messages.message_history(self.session()).values(*s.MESSAGE_COLUMNS)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Errors and JSON answers are JSON, whatever the client asked to stream.
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), EventStreamRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(responses={200: s.MessageOutput(many=True), **errors(400, 401, 404, 429)})
    def list(self, request: Request, session_pk: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([s.message_data(row) for row in page])

    @extend_schema(
        request=s.MessageInput,
        parameters=[IDEMPOTENCY_KEY],
        description=STREAM_DESCRIPTION,
        responses={
            (201, "application/json"): s.TurnOutput,
            (200, MEDIA_TYPE): OpenApiResponse(OpenApiTypes.STR, description=STREAM_DESCRIPTION),
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
        data = s.MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        handle = handle_of(self.session())
        if given["role"] != MessageRole.USER:
            message = handle.send_message(
                given["content"], role=given["role"], metadata=given.get("metadata")
            )
            body = {"message": s.message_data(message), "reply": None}
            return Response(body, status=status.HTTP_201_CREATED)
        turn = messages.start_turn(
            handle.record,
            handle.manager.pipeline,
            content=given["content"],
            metadata=given.get("metadata"),
        )
        if streaming:
            asynchronous = isinstance(request._request, ASGIRequest)
            return event_stream_response(turn, asynchronous=asynchronous, on_finish=on_finish)
        reply = messages.complete_turn(turn)
        body = {"message": s.message_data(turn.message), "reply": s.message_data(reply)}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, **errors(401, 404, 409, 429)})
    def clear(self, request: Request, session_pk: Any) -> Response:
        handle_of(self.session()).clear_messages()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: s.MessageOutput, **errors(401, 404, 429)})
    def retrieve(self, request: Request, session_pk: Any, pk: Any) -> Response:
        message_id = parse_session_id(pk)
        message = message_id and self.get_queryset().filter(pk=message_id).first()
        if message is None:
            raise SessionNotFoundError("Message not found.", error_code="message_not_found")
        return Response(s.message_data(message))
