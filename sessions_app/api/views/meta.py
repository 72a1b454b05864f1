"""Analytics (staff), the configured providers, and health (for load balancers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from sessions_app.api import serializers as s
from sessions_app.api.base import ApiView, errors
from sessions_app.conf import app_settings
from sessions_app.exceptions import ValidationError
from sessions_app.manager import SessionManager
from sessions_app.models import Session
from sessions_app.providers import available_providers, get_provider
from sessions_app.services import analytics, health
from sessions_app.services.sandboxes import find_sandbox


class AnalyticsView(ApiView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=[s.AnalyticsQuery],
        responses={200: OpenApiTypes.OBJECT, **errors(400, 401, 403, 429)},
    )
    def get(self, request: Request) -> Response:
        query = s.AnalyticsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        given: dict[str, Any] = dict(query.validated_data)
        period = {"start_date": given.get("start"), "end_date": given.get("end")}
        slug = given.get("sandbox")
        if slug is None:
            report = analytics.report(Session.objects.all(), **period, user_id=given.get("user_id"))
            return Response({"sandbox_id": None, **report})
        if find_sandbox(slug) is None:
            raise ValidationError(f"Unknown sandbox {slug!r}.", error_code="unknown_sandbox")
        return Response(SessionManager(slug).get_analytics(**period, user_id=given.get("user_id")))


class ProvidersView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: s.ProviderOutput(many=True), **errors(429)})
    def get(self, request: Request) -> Response:
        default = app_settings.DEFAULT_PROVIDER
        providers = [
            {**get_provider(name).capabilities(), "name": name, "default": name == default}
            for name in available_providers()
        ]
        return Response(s.ProviderOutput(providers, many=True).data)


class HealthView(ApiView):
    """No authentication and no throttling: load balancers call it often."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []

    @extend_schema(responses={200: s.HealthOutput, 503: s.HealthOutput})
    def get(self, request: Request) -> Response:
        report = health.health_check()
        healthy = report["status"] == "healthy"
        code = status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(s.HealthOutput(report).data, status=code)
