"""The demo project's URLs plus the session test views under ``http/`` (for real servers)."""

from __future__ import annotations

from django.urls import include, path

from project import urls as project_urls

urlpatterns = [path("http/", include("tests.support.http_urls")), *project_urls.urlpatterns]
handler500 = getattr(project_urls, "handler500", "django.views.defaults.server_error")
