"""Sessions: create, list, read, change, delete, archive, extend, validate; with the context
and report actions of ``context.py`` and ``reports.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from sessions_app.api.access import IsUserOrKeyHolder, MayCreateSessions, sessions_for
from sessions_app.api.base import IDEMPOTENCY_KEY, ApiView, errors
from sessions_app.api.filters import DocumentedFilters
from sessions_app.api.idempotency import respond_once
from sessions_app.api.inputs import (
    ExtendInput,
    SessionCreateInput,
    SessionUpdateInput,
    config_changes,
    validated,
)
from sessions_app.api.outputs import CreatedSessionOutput, SessionOutput, ValidityOutput
from sessions_app.api.pagination import SessionPagination
from sessions_app.api.views.context import ContextActions
from sessions_app.api.views.reports import ReportActions
from sessions_app.conf import app_settings
from sessions_app.exceptions import SessionNotFoundError
from sessions_app.models import Session
from sessions_app.pipeline import get_default_pipeline
from sessions_app.services import listings, sessions, ttl
from sessions_app.services.access import create_session_for
from sessions_app.services.filters import SessionFilter
from sessions_app.services.representations import (
    session_representation,
    validity_representation,
)


def session_response(session: Session, **response: Any) -> Response:
    return Response(session_representation(session, session.tags), **response)


class SessionViewSet(ContextActions, ReportActions, ApiView, GenericViewSet):
    """Sessions the caller may see: their own in their sandboxes, or the one their key opens."""

    permission_classes = [IsUserOrKeyHolder]
    pagination_class = SessionPagination
    filter_backends = [DocumentedFilters]
    filterset_class = SessionFilter
    serializer_class = SessionOutput
    queryset = Session.objects.none()  # names the model for the schema; lists are the selector's

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "create":
            return [MayCreateSessions()]
        return super().get_permissions()

    @extend_schema(responses={200: SessionOutput(many=True), **errors(400, 401, 404, 429)})
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(
            listings.session_rows(sessions_for(request), request.query_params)
        )
        assert page is not None  # the view has a pagination_class
        return self.get_paginated_response(listings.session_page(page))

    @extend_schema(
        request=SessionCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: CreatedSessionOutput, **errors(400, 401, 403, 409, 422, 429)},
    )
    def create(self, request: Request) -> Response:
        response: Response = respond_once(
            self, request, lambda _: self._create(request), streaming=False
        )
        return response

    def _create(self, request: Request) -> Response:
        given = validated(SessionCreateInput, request.data)
        created = create_session_for(
            request.user if request.user.is_authenticated else None,
            sandbox=given.get("sandbox"),
            user_id=given.get("user_id") or None,
            provider=given.get("provider"),
            model=given.get("model"),
            config=config_changes(given),
            metadata=given.get("metadata"),
            ttl_seconds=given.get("ttl_seconds"),
        )
        session = created.session
        body = {**session_representation(session, session.tags), "session_key": created.session_key}
        response = Response(body, status=status.HTTP_201_CREATED)
        response[app_settings.HEADER_NAME] = created.session_key
        response["Location"] = request.build_absolute_uri(f"{body['id']}/")
        return response

    @extend_schema(responses={200: SessionOutput, **errors(401, 404, 429)})
    def retrieve(self, request: Request, pk: Any) -> Response:
        return session_response(self.session())

    @extend_schema(
        request=SessionUpdateInput,
        responses={200: SessionOutput, **errors(400, 401, 404, 409, 429)},
    )
    def partial_update(self, request: Request, pk: Any) -> Response:
        given = validated(SessionUpdateInput, request.data)
        changed = sessions.update_details(
            self.session(), config=config_changes(given), metadata=given.get("metadata")
        )
        return session_response(changed)

    @extend_schema(responses={204: None, **errors(401, 404, 429)})
    def destroy(self, request: Request, pk: Any) -> Response:
        sessions.delete_session(self.session(), pipeline=get_default_pipeline())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: SessionOutput, **errors(401, 404, 409, 429)})
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: Any) -> Response:
        return session_response(
            sessions.archive_session(self.session(), pipeline=get_default_pipeline())
        )

    @extend_schema(
        request=ExtendInput, responses={200: SessionOutput, **errors(400, 401, 404, 409, 429)}
    )
    @action(detail=True, methods=["post"])
    def extend(self, request: Request, pk: Any) -> Response:
        seconds = validated(ExtendInput, request.data)["seconds"]
        return session_response(ttl.extend_ttl(self.session(), seconds))

    @extend_schema(request=None, responses={200: ValidityOutput, **errors(401, 404, 429)})
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: Any) -> Response:
        session = self.session()
        if not ttl.validate_loaded(session):
            raise SessionNotFoundError(session_id=session.pk)
        return Response(validity_representation(session))
