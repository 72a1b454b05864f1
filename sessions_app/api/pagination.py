"""Pages: numbered for sessions (with a count), cursors for message histories."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request

from sessions_app.conf import app_settings


class ConfiguredPageSize:
    """Page sizes from ``API_PAGE_SIZE`` / ``API_MAX_PAGE_SIZE``, read per request."""

    page_size_query_param: str | None = "page_size"
    page_size: int | None
    max_page_size: int | None

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = app_settings.API_PAGE_SIZE
        self.max_page_size = app_settings.API_MAX_PAGE_SIZE
        size: int | None = super().get_page_size(request)  # type: ignore[misc]
        return size


class SessionPagination(ConfiguredPageSize, PageNumberPagination):
    pass


class MessageCursorPagination(ConfiguredPageSize, CursorPagination):
    """Ascending by sequence number: stable while new messages arrive."""

    ordering = "seq"
