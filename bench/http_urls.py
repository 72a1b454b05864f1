"""Bench-only URLconf for ``bench_http.py``: a liveness probe and two tiny session views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def ping(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def read(request: HttpRequest) -> HttpResponse:
    """Read-only: the session's ``visits`` (``-`` when no session middleware is installed)."""
    session = getattr(request, "session", None)
    visits = session.get("visits") if session is not None else "-"
    return HttpResponse(str(visits), content_type="text/plain")


def write(request: HttpRequest) -> HttpResponse:
    """Increment ``visits`` in the session (a new session on the first call)."""
    session = getattr(request, "session", None)
    if session is None:
        return HttpResponse("-", content_type="text/plain")
    session["visits"] = session.get("visits", 0) + 1
    return HttpResponse(str(session["visits"]), content_type="text/plain")


urlpatterns = [
    path("ping", ping),
    path("read", read),
    path("write", write),
]
