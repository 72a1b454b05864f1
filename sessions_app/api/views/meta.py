"""Analytics (staff), the configured providers, and health (for load balancers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.api.base import ApiView, errors
from sessions_app.api.inputs import AnalyticsQuery, validated
from sessions_app.api.outputs import HealthOutput, ProviderOutput
from sessions_app.services import analytics, catalog, health


class AnalyticsView(ApiView):
    """Totals over sessions, for staff: of one sandbox, or of all."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=[AnalyticsQuery],
        responses={200: OpenApiTypes.OBJECT, **errors(400, 401, 403, 429)},
    )
    def get(self, request: Request) -> Response:
        given = validated(AnalyticsQuery, request.query_params)
        report = analytics.sandbox_report(
            given.get("sandbox"),
            start_date=given.get("start"),
            end_date=given.get("end"),
            user_id=given.get("user_id"),
        )
        return Response(report.to_dict())


class ProvidersView(ApiView):
    """The providers a session may use, their models and capabilities."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: ProviderOutput(many=True), **errors(429)})
    def get(self, request: Request) -> Response:
        return Response(catalog.provider_listing())


class HealthView(ApiView):
    """No authentication and no throttling: load balancers call it often."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []

    @extend_schema(responses={200: HealthOutput, 503: HealthOutput})
    def get(self, request: Request) -> Response:
        report = health.health_check()
        healthy = report["status"] == "healthy"
        code = status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(report, status=code)
