"""A session's message history, as callers list it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sessions_app.exceptions import ValidationError
from sessions_app.models import Message, MessageRole, Session
from sessions_app.validation import limit as valid_limit
from sessions_app.validation import moment


def message_history(
    session: Session,
    *,
    limit: Any = None,
    role: Any = None,
    since: Any = None,
) -> QuerySet[Message]:
    """Messages in ascending order; with ``limit``, the most recent ``limit`` of them."""
    limit = valid_limit(limit)
    since = moment(since, "since")
    messages = Message.objects.filter(session=session)
    if role is not None:
        if role not in MessageRole.values:
            raise ValidationError(f"role must be one of {', '.join(MessageRole.values)}.")
        messages = messages.filter(role=role)
    if since:
        messages = messages.filter(created_at__gte=since)
    if limit == 0:
        return messages.none()
    if limit is not None:
        newest = messages.order_by("-seq").values_list("seq", flat=True)[limit - 1 : limit]
        floor = next(iter(newest), None)
        if floor is not None:
            messages = messages.filter(seq__gte=floor)
    return messages.order_by("seq")
