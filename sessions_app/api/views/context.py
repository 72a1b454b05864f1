"""A session's context: read it, or deep-merge a change (``If-Match`` against the version)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.api.base import errors
from sessions_app.api.outputs import ContextOutput
from sessions_app.api.views.lookup import OneSession
from sessions_app.limits import MAX_CONTEXT_VERSION
from sessions_app.pipeline import get_default_pipeline
from sessions_app.services.context import SessionContext, get_context, update_context
from sessions_app.services.representations import context_representation

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The context version the change is based on, e.g. "3" (the ETag of a read).',
)


def parse_if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names; None for no header or ``*``; -1 never matches."""
    if header is None or header.strip() == "*":
        return None
    value = header.strip().removeprefix("W/").strip('"')
    # ASCII digits only ("²" is a digit to str.isdigit, not to int), within the column's range.
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_CONTEXT_VERSION)):
        return -1
    return int(value)


def context_response(snapshot: SessionContext) -> Response:
    response = Response(context_representation(snapshot))
    response["ETag"] = f'"{snapshot.version}"'
    return response


class ContextActions(OneSession):
    """``sessions/{id}/context/`` on the session viewset."""

    @extend_schema(methods=["GET"], responses={200: ContextOutput, **errors(401, 404, 429)})
    @extend_schema(
        methods=["PATCH"],
        request=OpenApiTypes.OBJECT,
        parameters=[IF_MATCH],
        responses={200: ContextOutput, **errors(400, 401, 404, 409, 412, 429)},
    )
    @action(detail=True, methods=["get", "patch"])
    def context(self, request: Request, pk: Any) -> Response:
        session = self.session()
        if request.method == "GET":
            return context_response(get_context(session))
        expected = parse_if_match(request.headers.get("If-Match"))
        changed = update_context(
            session, request.data, pipeline=get_default_pipeline(), expected_version=expected
        )
        return context_response(changed)
