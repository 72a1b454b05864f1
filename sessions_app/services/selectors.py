"""Read-only queries on sessions, always scoped to one sandbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from sessions_app import validation
from sessions_app.exceptions import SessionNotFoundError, ValidationError
from sessions_app.models import Message, Sandbox, Session, SessionStatus, SessionTag
from sessions_app.services.filters import matching_text, with_all_tags
from sessions_app.services.history import message_history


def parse_session_id(session_id: Any) -> uuid.UUID | None:
    if isinstance(session_id, uuid.UUID):
        return session_id
    try:
        return uuid.UUID(str(session_id))
    except (TypeError, ValueError, AttributeError):
        return None


def not_expired(now: datetime | None = None) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now())


def all_live_sessions() -> QuerySet[Session]:
    """Sessions of every sandbox that are neither deleted nor expired."""
    return Session.objects.exclude(status=SessionStatus.DELETED).filter(not_expired())


def live_sessions(sandbox: Sandbox | None) -> QuerySet[Session]:
    """Sessions of ``sandbox`` that are neither deleted nor expired (none without a sandbox)."""
    if sandbox is None:
        return Session.objects.none()
    return all_live_sessions().filter(sandbox=sandbox)


def tag_names(session_ids: list[Any]) -> dict[Any, list[str]]:
    """Sorted tag names of each of these sessions, in one query (cheaper than a prefetch)."""
    names: dict[Any, list[str]] = {pk: [] for pk in session_ids}
    rows = SessionTag.objects.filter(session_id__in=session_ids).order_by("name")
    for session_id, name in rows.values_list("session_id", "name"):
        names[session_id].append(name)
    return names


def find_session(sandbox: Sandbox | None, session_id: Any) -> Session | None:
    pk = parse_session_id(session_id)
    if pk is None:
        return None
    return live_sessions(sandbox).filter(pk=pk).first()


def get_session_or_raise(sandbox: Sandbox | None, session_id: Any) -> Session:
    session = find_session(sandbox, session_id)
    if session is None:
        raise SessionNotFoundError(session_id=session_id)
    return session


def find_message(session: Session, message_id: Any) -> Message | None:
    pk = parse_session_id(message_id)
    return message_history(session).filter(pk=pk).first() if pk else None


def owner_filter(user_id: Any) -> Q:
    """A Django user matches ``user``; a string (or int) matches the external user id."""
    if isinstance(user_id, Model):
        return Q(user=validation.django_user(user_id))
    return Q(external_user_id=validation.external_user_id(user_id))


def search(
    sandbox: Sandbox | None,
    *,
    user_id: Any = None,
    provider: str | None = None,
    model: str | None = None,
    status: str | list[str] | None = None,
    tags: list[str] | str | None = None,
    since: datetime | str | None = None,
    query: str | None = None,
) -> QuerySet[Session]:
    """Live sessions matching every given filter, newest first; tags must all be present."""
    since = validation.moment(since, "since")
    if isinstance(tags, str):
        tags = [tags]
    if tags is not None and (
        not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags)
    ):
        raise ValidationError("tags must be a tag or a list of tags.")
    if isinstance(status, str):
        status = [status]
    if status is not None and (
        not isinstance(status, list | tuple) or not set(status) <= set(SessionStatus.values)
    ):
        raise ValidationError(f"status must be one or more of {', '.join(SessionStatus.values)}.")
    sessions = live_sessions(sandbox)
    if user_id is not None:
        sessions = sessions.filter(owner_filter(user_id))
    if provider:
        sessions = sessions.filter(provider=provider)
    if model:
        sessions = sessions.filter(model=model)
    if status:
        sessions = sessions.filter(status__in=status)
    sessions = with_all_tags(sessions, tags or ())
    if since:
        sessions = sessions.filter(last_activity__gte=since)
    if query:
        sessions = matching_text(sessions, query)
    return sessions.order_by("-created_at").prefetch_related("tag_set")
