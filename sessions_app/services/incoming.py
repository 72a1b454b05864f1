"""Accepting a new user or system message: input checks, incoming middleware, storage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from sessions_app.conf import app_settings
from sessions_app.exceptions import ContentTooLongError, SessionExpiredError, ValidationError
from sessions_app.models import Message, MessageRole, Session
from sessions_app.pipeline import LifecycleEvent, Pipeline, PipelineMessage
from sessions_app.services.guards import require_writable
from sessions_app.services.messages import store_message
from sessions_app.validation import json_object, text

SENDABLE_ROLES = (MessageRole.USER, MessageRole.SYSTEM)


def validate_input(
    session: Session,
    content: Any,
    role: Any,
    metadata: Any,
    roles: tuple[str, ...] = SENDABLE_ROLES,
) -> dict[str, Any]:
    """Check a new message; returns its metadata as it will be stored."""
    if role not in roles:
        raise ValidationError(
            f"role must be one of {', '.join(roles)}.",
            session_id=session.pk,
            error_code="invalid_role",
        )
    text(content, "content", session_id=session.pk)
    if not content.strip():
        raise ValidationError("content must not be empty.", session_id=session.pk)
    if len(content) > app_settings.MAX_MESSAGE_CHARS:
        raise ContentTooLongError(
            f"content is longer than {app_settings.MAX_MESSAGE_CHARS} characters.",
            session_id=session.pk,
        )
    return json_object(metadata or {}, "metadata", session_id=session.pk)


def _check_timeout(session: Session) -> None:
    minutes = session.config.get("session_timeout_minutes")
    if not minutes:
        return
    try:
        cutoff = timezone.now() - timedelta(minutes=minutes)
    except (OverflowError, TypeError):
        # Stored before the bound (MAX_TIMEOUT_MINUTES) was checked: longer than any history.
        return
    if session.last_activity < cutoff:
        # The copy in hand may be old; only the stored activity decides.
        session.refresh_from_db(fields=["last_activity"])
        if session.last_activity < cutoff:
            raise SessionExpiredError(
                "The session timed out from inactivity.", session_id=session.pk
            )


def accept_message(
    session: Session,
    pipeline: Pipeline,
    *,
    content: Any,
    role: Any = MessageRole.USER,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Validate, run incoming middleware and store a user or system message."""
    metadata = validate_input(session, content, role, metadata)
    require_writable(session)
    _check_timeout(session)
    incoming = pipeline.run(
        PipelineMessage(session_id=str(session.pk), role=role, content=content, metadata=metadata),
        session,
    )
    is_user = role == MessageRole.USER
    message = store_message(
        session,
        role=role,
        content=incoming.content,
        metadata=incoming.metadata,
        # A user message holds a slot for its reply until the reply is stored.
        reserve=2 if is_user else 1,
        pending=1 if is_user else 0,
    )
    pipeline.fire(
        LifecycleEvent.MESSAGE_SENT, session_id=str(session.pk), session=session, message=message
    )
    return message
