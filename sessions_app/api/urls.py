"""Routes of the REST API; include under ``api/v1/``."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from sessions_app.api.views.messages import MessageViewSet
from sessions_app.api.views.meta import AnalyticsView, HealthView, ProvidersView
from sessions_app.api.views.sessions import SessionViewSet

app_name = "sessions_api"

router = SimpleRouter()
router.register("sessions", SessionViewSet, basename="session")

urlpatterns = [
    *router.urls,
    path(
        "sessions/<str:session_pk>/messages/",
        MessageViewSet.as_view({"get": "list", "post": "create", "delete": "clear"}),
        name="message-list",
    ),
    path(
        "sessions/<str:session_pk>/messages/<str:pk>/",
        MessageViewSet.as_view({"get": "retrieve"}),
        name="message-detail",
    ),
    path("analytics/", AnalyticsView.as_view(), name="analytics"),
    path("providers/", ProvidersView.as_view(), name="providers"),
    path("health/", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="sessions_api:schema"), name="docs"),
]
