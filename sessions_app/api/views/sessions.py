"""Sessions: create, list, read, change, delete, archive, extend, validate, context, metrics."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from sessions_app.api import serializers as s
from sessions_app.api.access import (
    IsUserOrKeyHolder,
    MayCreateSessions,
    session_for,
    sessions_for,
)
from sessions_app.api.base import ApiView, errors
from sessions_app.api.filters import SessionFilter
from sessions_app.api.idempotency import respond_once
from sessions_app.api.pagination import SessionPagination
from sessions_app.exceptions import SessionNotFoundError
from sessions_app.handle import ConversationSession
from sessions_app.manager import SessionManager
from sessions_app.models import Session
from sessions_app.services import access, sessions, ttl
from sessions_app.services.context import ContextSnapshot
from sessions_app.services.selectors import tag_names

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The context version the change is based on, e.g. "3" (the ETag of a read).',
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A retried request with the same key returns the first response.",
)


def handle_of(session: Session) -> ConversationSession:
    return ConversationSession(SessionManager(session.sandbox.slug), session)


def parse_if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names; None for no header or ``*``; -1 never matches."""
    if header is None or header.strip() == "*":
        return None
    value = header.strip().removeprefix("W/").strip('"')
    return int(value) if value.isdigit() else -1


def context_response(snapshot: ContextSnapshot) -> Response:
    response = Response(s.ContextOutput(snapshot).data)
    response["ETag"] = f'"{snapshot.version}"'
    return response


def session_body(session: Session) -> dict[str, Any]:
    return s.session_data(session, session.tags)


class SessionViewSet(ApiView, GenericViewSet):
    permission_classes = [IsUserOrKeyHolder]
    pagination_class = SessionPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = SessionFilter
    serializer_class = s.SessionOutput

    def get_queryset(self) -> QuerySet[Session]:
        return sessions_for(self.request).order_by("-created_at", "pk").values(*s.SESSION_COLUMNS)

    def get_permissions(self) -> list[Any]:
        if self.action == "create":
            return [MayCreateSessions()]
        return super().get_permissions()

    def session(self) -> Session:
        return session_for(self.request, self.kwargs["pk"])

    @extend_schema(responses={200: s.SessionOutput(many=True), **errors(400, 401, 404, 429)})
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        tags = tag_names([row["id"] for row in page])
        return self.get_paginated_response([s.session_data(row, tags[row["id"]]) for row in page])

    @extend_schema(
        request=s.SessionCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.CreatedSessionOutput, **errors(400, 401, 403, 409, 422, 429)},
    )
    def create(self, request: Request) -> Response:
        return respond_once(self, request, lambda _: self._create(request), streaming=False)

    def _create(self, request: Request) -> Response:
        data = s.SessionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        user = request.user if request.user.is_authenticated else None
        manager = SessionManager(access.sandbox_for_new_session(user, given.get("sandbox")))
        config = {
            **given.get("config", {}),
            **{name: given[name] for name in ("name", "description", "tags") if name in given},
        }
        created = manager.create_session(
            user_id=given.get("user_id") or None,
            provider=given.get("provider"),
            model=given.get("model"),
            session_config=config,
            user=user,
            metadata=given.get("metadata"),
            ttl_seconds=given.get("ttl_seconds"),
        )
        body = {**session_body(created.refresh().record), "session_key": created.session_key}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["X-Session-ID"] = created.session_key
        response["Location"] = request.build_absolute_uri(f"{body['id']}/")
        return response

    @extend_schema(responses={200: s.SessionOutput, **errors(401, 404, 429)})
    def retrieve(self, request: Request, pk: Any) -> Response:
        return Response(session_body(self.session()))

    @extend_schema(
        request=s.SessionUpdateInput,
        responses={200: s.SessionOutput, **errors(400, 401, 404, 409, 429)},
    )
    def partial_update(self, request: Request, pk: Any) -> Response:
        data = s.SessionUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = dict(data.validated_data)
        metadata = given.pop("metadata", None)
        config = {**given.pop("config", {}), **given}
        session = sessions.update_details(self.session(), config=config, metadata=metadata)
        return Response(session_body(session))

    @extend_schema(responses={204: None, **errors(401, 404, 429)})
    def destroy(self, request: Request, pk: Any) -> Response:
        handle_of(self.session()).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: s.SessionOutput, **errors(401, 404, 409, 429)})
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: Any) -> Response:
        return Response(session_body(handle_of(self.session()).archive().record))

    @extend_schema(
        request=s.ExtendInput, responses={200: s.SessionOutput, **errors(400, 401, 404, 409, 429)}
    )
    @action(detail=True, methods=["post"])
    def extend(self, request: Request, pk: Any) -> Response:
        data = s.ExtendInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = ttl.extend_ttl(self.session(), data.validated_data["seconds"])
        return Response(session_body(session))

    @extend_schema(request=None, responses={200: s.ValidityOutput, **errors(401, 404, 429)})
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: Any) -> Response:
        session = self.session()
        if not SessionManager(session.sandbox.slug).validate_session(session.pk):
            raise SessionNotFoundError(session_id=session.pk)
        return Response(s.ValidityOutput({"valid": True, "expires_at": session.expires_at}).data)

    @extend_schema(responses={200: s.MetricsOutput, **errors(401, 404, 429)})
    @action(detail=True, methods=["get"])
    def metrics(self, request: Request, pk: Any) -> Response:
        return Response(s.MetricsOutput(handle_of(self.session()).get_metrics()).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **errors(401, 404, 429)})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: Any) -> Response:
        return Response(handle_of(self.session()).export_conversation())

    @extend_schema(methods=["GET"], responses={200: s.ContextOutput, **errors(401, 404, 429)})
    @extend_schema(
        methods=["PATCH"],
        request=OpenApiTypes.OBJECT,
        parameters=[IF_MATCH],
        responses={200: s.ContextOutput, **errors(400, 401, 404, 409, 412, 429)},
    )
    @action(detail=True, methods=["get", "patch"])
    def context(self, request: Request, pk: Any) -> Response:
        handle = handle_of(self.session())
        if request.method == "GET":
            return context_response(handle.get_context())
        expected = parse_if_match(request.headers.get("If-Match"))
        return context_response(handle.update_context(request.data, expected_version=expected))
