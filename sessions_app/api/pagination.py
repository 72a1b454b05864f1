"""Pages: numbered for sessions (with a count), cursors for message histories."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

from sessions_app.conf import app_settings
from sessions_app.exceptions import ValidationError
from sessions_app.limits import MAX_SEQ


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
    """Ascending by sequence number: stable while new messages arrive.

    A cursor the API did not make (undecodable, or a position that is not a sequence number)
    is a 400 ``invalid_cursor``, where DRF answers 404 or fails in the query.
    """

    ordering = "seq"

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor: Cursor | None = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            valid = cursor is None or _is_seq(cursor.position)
        if not valid:
            raise ValidationError("Invalid cursor.", error_code="invalid_cursor")
        return cursor


def _is_seq(position: Any) -> bool:
    """A position DRF decoded from a cursor: for this ordering, a ``seq`` in ASCII digits."""
    if position is None:
        return True
    if not (isinstance(position, str) and position.isascii() and position.isdigit()):
        return False
    return len(position) <= len(str(MAX_SEQ)) and int(position) <= MAX_SEQ
