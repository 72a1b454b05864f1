"""Creating, changing and ending sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sessions_app import cache
from sessions_app.conf import app_settings
from sessions_app.exceptions import (
    ConfigurationError,
    SessionNotFoundError,
    SessionStateError,
    ValidationError,
)
from sessions_app.http import revocations
from sessions_app.limits import MAX_MODEL
from sessions_app.models import (
    ALLOWED_TRANSITIONS,
    Sandbox,
    Session,
    SessionStatus,
    SessionTag,
)
from sessions_app.pipeline import LifecycleEvent, Pipeline
from sessions_app.providers import get_provider
from sessions_app.services.guards import lock_writable
from sessions_app.services.provider_state import keeps_state, latest_provider_state
from sessions_app.session_config import SessionConfig
from sessions_app.utils.keys import hash_key, new_key
from sessions_app.validation import (
    django_user,
    external_user_id,
    json_object,
    positive_number,
    text,
)


@dataclass(frozen=True)
class CreatedSession:
    """A new session with its secret key, which is known only at this moment."""

    session: Session
    session_key: str = field(repr=False)


def default_ttl_seconds(sandbox: Sandbox) -> int | None:
    return sandbox.default_ttl or app_settings.DEFAULT_TTL


def _resolve_provider(
    sandbox: Sandbox, pipeline: Pipeline, provider: str | None, model: str | None
) -> tuple[str, str]:
    """The provider and model of a new session: any model name unless ``MODELS`` restricts it."""
    name = provider or sandbox.default_provider or app_settings.DEFAULT_PROVIDER
    adapter = pipeline.get_provider(name)  # raises ConfigurationError for an unknown provider
    chosen = model or (sandbox.default_model if not provider else "") or adapter.default_model
    text(chosen, "model")
    if len(chosen) > MAX_MODEL:
        raise ValidationError(f"model is longer than {MAX_MODEL} characters.")
    if not adapter.accepts_model(chosen):
        raise ConfigurationError(
            f"Model {chosen!r} is not configured for provider {name!r}; "
            f"its MODELS are: {', '.join(adapter.models)}.",
            error_code="unknown_model",
        )
    return name, chosen


def create_session(
    *,
    sandbox: Sandbox,
    pipeline: Pipeline,
    user_id: Any = None,
    user: Any = None,
    provider: str | None = None,
    model: str | None = None,
    config: SessionConfig | dict[str, Any] | None = None,
    provider_config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    ttl_seconds: float | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    conversational: bool = True,
) -> CreatedSession:
    """Create a session; a conversation gets a provider and model, a TTL session need not."""
    session_config = SessionConfig.coerce(config)
    if provider_config:
        session_config = session_config.merged({"provider_config": provider_config})
    external_id = external_user_id(user_id) if user_id is not None else ""
    owner = django_user(user)
    metadata = json_object(metadata, "metadata") if metadata is not None else {}
    if ttl_seconds is not None:
        ttl_seconds = positive_number(ttl_seconds, "ttl_seconds")
    provider_name, model_name = (
        _resolve_provider(sandbox, pipeline, provider, model)
        if conversational or provider
        else ("", "")
    )
    if provider_name and session_config.provider_config:
        pipeline.get_provider(provider_name).check_session_options(session_config.provider_config)
    ttl = ttl_seconds if ttl_seconds is not None else default_ttl_seconds(sandbox)
    now = timezone.now()
    key = new_key()
    session = Session(
        key_hash=hash_key(key),
        sandbox=sandbox,
        user=owner,
        external_user_id=external_id,
        provider=provider_name,
        model=model_name,
        name=session_config.name,
        description=session_config.description,
        max_messages=session_config.max_messages,
        config=session_config.stored(),
        metadata=metadata,
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
    return SessionConfig.from_stored(
        {
            **session.config,
            "name": session.name,
            "description": session.description,
            "tags": session.tags,
            "max_messages": session.max_messages,
        }
    )


def update_session(session: Session, compute: Callable[[Session], dict[str, Any]]) -> Session:
    """Apply ``compute(fresh row)``'s field changes to a writable session, under a row lock.

    Merges therefore start from the stored values, not from a copy that may be stale.
    """
    with transaction.atomic():
        fresh = lock_writable(session.pk)
        changes = compute(fresh)
        Session.objects.filter(pk=session.pk).update(**changes)
    cache.invalidate(fresh)
    for model_field in Session._meta.concrete_fields:
        setattr(session, model_field.attname, getattr(fresh, model_field.attname))
    for name, value in changes.items():
        setattr(session, name, value)
    return session


def _apply_config(fresh: Session, changes: dict[str, Any]) -> tuple[SessionConfig, dict[str, Any]]:
    """The merged config and the column changes that store it (tags are written here)."""
    new_config = session_config(fresh).merged(changes)
    if "provider_config" in changes and fresh.provider and new_config.provider_config:
        get_provider(fresh.provider).check_session_options(new_config.provider_config)
    if "tags" in changes:
        _write_tags(fresh, new_config.tags)
    return new_config, {
        "name": new_config.name,
        "description": new_config.description,
        "max_messages": new_config.max_messages,
        "config": new_config.stored(),
    }


def update_config(session: Session, changes: dict[str, Any]) -> SessionConfig:
    """Validate and apply config changes; name, description, tags and max_messages are columns."""
    result: list[SessionConfig] = []

    def compute(fresh: Session) -> dict[str, Any]:
        new_config, columns = _apply_config(fresh, changes)
        result.append(new_config)
        return columns

    update_session(session, compute)
    return result[0]


def update_details(
    session: Session, *, config: dict[str, Any] | None = None, metadata: Any = None
) -> Session:
    """Change config fields and merge ``metadata`` in one locked write: all or nothing."""
    if metadata is not None:
        metadata = json_object(metadata, "metadata", session_id=session.pk)

    def compute(fresh: Session) -> dict[str, Any]:
        columns = _apply_config(fresh, config)[1] if config else {}
        if metadata is not None:
            columns["metadata"] = {**fresh.metadata, **metadata}
        return {**columns, "last_activity": timezone.now()}

    return update_session(session, compute)


_EVENTS: dict[str, LifecycleEvent] = {
    SessionStatus.ARCHIVED: LifecycleEvent.SESSION_ARCHIVED,
    SessionStatus.DELETED: LifecycleEvent.SESSION_DELETED,
}


def transition(
    session: Session, to: str, *, pipeline: Pipeline | None = None, **fields: Any
) -> Session:
    """Move ``session`` to status ``to`` if the transition is allowed (atomically)."""
    current = session.status
    if current == to:
        return session
    if current == SessionStatus.DELETED:
        raise SessionNotFoundError(session_id=session.pk)
    if to not in ALLOWED_TRANSITIONS[current]:
        raise SessionStateError(
            f"Cannot move a session from {current} to {to}.",
            session_id=session.pk,
            error_code="invalid_transition",
        )
    changed = Session.objects.filter(pk=session.pk, status=current).update(status=to, **fields)
    cache.invalidate(session)
    if not changed:
        stored = Session.objects.filter(pk=session.pk).values_list("status", flat=True).first()
        if stored is None or stored == SessionStatus.DELETED:
            raise SessionNotFoundError(session_id=session.pk)
        session.status = stored
        return transition(session, to, pipeline=pipeline, **fields)
    session.status = to
    if to == SessionStatus.DELETED:
        revocations.revoke_on_commit(session.key_hash)
    if pipeline is not None and to in _EVENTS:
        pipeline.fire(_EVENTS[to], session_id=str(session.pk), session=session)
    return session


def archive_session(session: Session, *, pipeline: Pipeline) -> Session:
    return transition(session, SessionStatus.ARCHIVED, pipeline=pipeline)


def delete_session(session: Session, *, pipeline: Pipeline, hard: bool = False) -> None:
    """Soft-delete (status ``deleted``, purged later) or remove the row at once."""
    if not hard:
        transition(session, SessionStatus.DELETED, pipeline=pipeline, deleted_at=timezone.now())
        return
    # The replies go with the row: read the state a provider keeps before it is lost.
    adapter = pipeline.get_provider(session.provider) if session.provider else None
    state = latest_provider_state(session) if adapter and keeps_state(adapter) else None
    deleted, _ = Session.objects.filter(pk=session.pk).delete()
    if not deleted:
        raise SessionNotFoundError(session_id=session.pk)
    pipeline.fire(
        LifecycleEvent.SESSION_DELETED,
        session_id=str(session.pk),
        session=session,
        provider_state=state,
    )
