"""Bench-only URLconf for ``bench_api.py``: the REST API, a bare JSON view and the probe."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from http_urls import ping


def bare(request: HttpRequest) -> JsonResponse:
    """The baseline: Django answering a small JSON dict, with no authentication or query."""
    return JsonResponse({"id": 1, "status": "ok", "message_count": 0})


urlpatterns = [
    path("ping", ping),
    path("bare", bare),
    path("api/v1/", include("sessions_app.api.urls")),
]
