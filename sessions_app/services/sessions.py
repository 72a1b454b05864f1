"""Creating, changing and ending sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.exceptions import ConfigurationError, SessionNotFoundError, SessionStateError
from sessions_app.keys import hash_key, new_key
from sessions_app.models import (
    ALLOWED_TRANSITIONS,
    Sandbox,
    Session,
    SessionStatus,
    SessionTag,
)
from sessions_app.pipeline import LifecycleEvent, Pipeline
from sessions_app.providers import get_provider
from sessions_app.services.selectors import get_session_or_raise
from sessions_app.session_config import SessionConfig, clean_tags


@dataclass(frozen=True)
class CreatedSession:
    """A new session with its secret key, which is known only at this moment."""

    session: Session
    session_key: str


def default_ttl_seconds(sandbox: Sandbox) -> int | None:
    return sandbox.default_ttl or app_settings.DEFAULT_TTL


def _resolve_provider(sandbox: Sandbox, provider: str | None, model: str | None) -> tuple[str, str]:
    name = provider or sandbox.default_provider or app_settings.DEFAULT_PROVIDER
    adapter = get_provider(name)  # raises ConfigurationError for an unknown provider
    chosen = model or (sandbox.default_model if not provider else "") or adapter.default_model
    if adapter.models and chosen not in adapter.models:
        raise ConfigurationError(
            f"Model {chosen!r} is not configured for provider {name!r}.", error_code="unknown_model"
        )
    return name, chosen


def create_session(
    *,
    sandbox: Sandbox,
    pipeline: Pipeline,
    user_id: str | None = None,
    user: Any = None,
    provider: str | None = None,
    model: str | None = None,
    config: SessionConfig | dict[str, Any] | None = None,
    provider_config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    ttl_seconds: int | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    conversational: bool = True,
) -> CreatedSession:
    """Create a session; a conversation gets a provider and model, a TTL session need not."""
    session_config = SessionConfig.coerce(config)
    if provider_config:
        session_config = session_config.merged({"provider_config": provider_config})
    if metadata is not None and not isinstance(metadata, dict):
        raise ConfigurationError("metadata must be an object.")
    if ttl_seconds is not None and (isinstance(ttl_seconds, bool) or ttl_seconds <= 0):
        raise ConfigurationError("ttl_seconds must be a positive number.")
    provider_name, model_name = (
        _resolve_provider(sandbox, provider, model) if conversational or provider else ("", "")
    )
    ttl = ttl_seconds if ttl_seconds is not None else default_ttl_seconds(sandbox)
    now = timezone.now()
    key = new_key()
    session = Session(
        key_hash=hash_key(key),
        sandbox=sandbox,
        user=user,
        external_user_id=user_id or "",
        provider=provider_name,
        model=model_name,
        name=session_config.name,
        description=session_config.description,
        config=session_config.stored(),
        metadata=metadata or {},
        ip_address=ip_address,
        user_agent=(user_agent or "")[:512],
        created_at=now,
        last_activity=now,
        expires_at=now + timedelta(seconds=ttl) if ttl else None,
    )
    with transaction.atomic():
        session.save(force_insert=True)
        _write_tags(session, session_config.tags)
    pipeline.fire(LifecycleEvent.SESSION_CREATED, session_id=str(session.pk), session=session)
    return CreatedSession(session=session, session_key=key)


def _write_tags(session: Session, tags: list[str]) -> None:
    SessionTag.objects.filter(session=session).exclude(name__in=tags).delete()
    SessionTag.objects.bulk_create(
        [SessionTag(session=session, name=name) for name in tags], ignore_conflicts=True
    )


def session_config(session: Session) -> SessionConfig:
    return SessionConfig.from_dict(
        {
            **session.config,
            "name": session.name,
            "description": session.description,
            "tags": session.tags,
        }
    )


def require_writable(session: Session) -> None:
    if session.status == SessionStatus.ARCHIVED:
        raise SessionStateError("The session is archived and read-only.", session_id=session.pk)
    if session.status == SessionStatus.DELETED:
        raise SessionNotFoundError(session_id=session.pk)


def update_session(session: Session, **fields: Any) -> Session:
    """Write ``fields`` to a writable session (guarded against a concurrent archive)."""
    require_writable(session)
    updated = (
        Session.objects.filter(pk=session.pk)
        .exclude(status__in=[SessionStatus.ARCHIVED, SessionStatus.DELETED])
        .update(**fields)
    )
    cache.invalidate(session.pk)
    if not updated:
        session.refresh_from_db(fields=["status"])
        require_writable(session)
        raise SessionNotFoundError(session_id=session.pk)
    for name, value in fields.items():
        setattr(session, name, value)
    return session


def update_config(session: Session, changes: dict[str, Any]) -> SessionConfig:
    """Validate and apply config changes; name, description and tags are columns."""
    if not isinstance(changes, dict):
        raise ConfigurationError("config changes must be an object.")
    new_config = session_config(session).merged(changes)
    with transaction.atomic():
        update_session(
            session,
            name=new_config.name,
            description=new_config.description,
            config=new_config.stored(),
        )
        if "tags" in changes:
            _write_tags(session, new_config.tags)
    return new_config


def set_tags(session: Session, tags: list[str]) -> list[str]:
    cleaned = clean_tags(tags)
    require_writable(session)
    _write_tags(session, cleaned)
    return cleaned


def transition(session: Session, to: str, *, pipeline: Pipeline | None = None) -> Session:
    """Move ``session`` to status ``to`` if the transition is allowed (atomically)."""
    current = session.status
    if current == to:
        return session
    if to not in ALLOWED_TRANSITIONS[current]:
        raise SessionStateError(
            f"Cannot move a session from {current} to {to}.",
            session_id=session.pk,
            error_code="invalid_transition",
        )
    changed = Session.objects.filter(pk=session.pk, status=current).update(status=to)
    cache.invalidate(session.pk)
    if not changed:
        session.refresh_from_db(fields=["status"])
        return transition(session, to, pipeline=pipeline)
    session.status = to
    if pipeline is not None:
        event = {
            SessionStatus.ARCHIVED: LifecycleEvent.SESSION_ARCHIVED,
            SessionStatus.DELETED: LifecycleEvent.SESSION_DELETED,
        }.get(to)
        if event:
            pipeline.fire(event, session_id=str(session.pk), session=session)
    return session


def archive_session(session: Session, *, pipeline: Pipeline) -> Session:
    return transition(session, SessionStatus.ARCHIVED, pipeline=pipeline)


def delete_session(session: Session, *, pipeline: Pipeline, hard: bool = False) -> None:
    """Soft-delete (status ``deleted``, purged later) or remove the row at once."""
    if hard:
        Session.objects.filter(pk=session.pk).delete()
        cache.invalidate(session.pk)
        pipeline.fire(LifecycleEvent.SESSION_DELETED, session_id=str(session.pk), session=session)
        return
    transition(session, SessionStatus.DELETED, pipeline=pipeline)


def get_session(sandbox: Sandbox, session_id: Any) -> Session:
    return get_session_or_raise(sandbox, session_id)
