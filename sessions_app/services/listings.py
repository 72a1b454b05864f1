"""Lists as the API pages them: ``.values()`` rows narrowed by query parameters, and a
page of rows turned into representations (with every tag of the page in one query)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet

from sessions_app.models import Session
from sessions_app.services.filters import MessageFilter, SessionFilter, filtered
from sessions_app.services.history import message_history
from sessions_app.services.representations import (
    MESSAGE_COLUMNS,
    SESSION_COLUMNS,
    message_representation,
    session_representation,
)
from sessions_app.services.selectors import tag_names

Rows = QuerySet[Any, dict[str, Any]]


def session_rows(sessions: QuerySet[Session], params: Mapping[str, Any]) -> Rows:
    """``sessions`` filtered by ``params`` (``SessionFilter``'s names), newest first."""
    found = filtered(SessionFilter, sessions, params).order_by("-created_at", "pk")
    rows: Rows = found.values(*SESSION_COLUMNS)
    return rows


def session_page(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    tags = tag_names([row["id"] for row in rows])
    return [session_representation(row, tags[row["id"]]) for row in rows]


def message_rows(session: Session, params: Mapping[str, Any]) -> Rows:
    """The session's messages filtered by ``params`` (``MessageFilter``'s names), by ``seq``."""
    rows: Rows = filtered(MessageFilter, message_history(session), params).values(*MESSAGE_COLUMNS)
    return rows


def message_page(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [message_representation(row) for row in rows]
