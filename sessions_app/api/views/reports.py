"""A session's metrics and its whole conversation as one export document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.api.base import errors
from sessions_app.api.outputs import MetricsOutput
from sessions_app.api.views.lookup import OneSession
from sessions_app.services.export import export_conversation
from sessions_app.services.representations import metrics_representation


class ReportActions(OneSession):
    """``sessions/{id}/metrics/`` and ``sessions/{id}/export/`` on the session viewset."""

    @extend_schema(responses={200: MetricsOutput, **errors(401, 404, 429)})
    @action(detail=True, methods=["get"])
    def metrics(self, request: Request, pk: Any) -> Response:
        return Response(metrics_representation(self.session()))

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **errors(401, 404, 429)})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: Any) -> Response:
        return Response(export_conversation(self.session()))
