"""The versioned context of a session: dot-notation reads, merge-patch updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from sessions_app.exceptions import ContextConflictError, StorageError, ValidationError
from sessions_app.limits import MAX_JSON_DEPTH
from sessions_app.models import Context, Session
from sessions_app.pipeline import LifecycleEvent, Pipeline
from sessions_app.services.guards import lock_writable
from sessions_app.utils.dotpath import expand_dotted, get_path, merge_patch
from sessions_app.validation import json_object, storable_json

DEFAULT_SECTION = "conversation_context"
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class ContextSnapshot:
    """A read of a session's context at one version."""

    user_context: dict[str, Any]
    conversation_context: dict[str, Any]
    provider_context: dict[str, Any]
    system_context: dict[str, Any]
    version: int
    last_updated: datetime

    @classmethod
    def of(cls, context: Context) -> ContextSnapshot:
        return cls(**context.sections(), version=context.version, last_updated=context.updated_at)

    def get(self, path: str, default: Any = None) -> Any:
        """Dot-notation read: ``get("user_context.preferences.language")``.

        A path that names no section reads the conversation context, where
        ``update_context`` put it.
        """
        if path.split(".", 1)[0] not in Context.SECTIONS:
            path = f"{DEFAULT_SECTION}.{path}"
        return get_path(self.to_dict(), path, default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_context": self.user_context,
            "conversation_context": self.conversation_context,
            "provider_context": self.provider_context,
            "system_context": self.system_context,
            "version": self.version,
            "last_updated": self.last_updated,
        }


def get_context(session: Session) -> ContextSnapshot:
    """The current context; a session never updated reads as empty at version 0 (no write)."""
    context = Context.objects.filter(session_id=session.pk).first()
    if context is None:
        context = Context(session_id=session.pk, updated_at=session.created_at)
    return ContextSnapshot.of(context)


def _by_section(updates: dict[str, Any], session_id: Any) -> dict[str, dict[str, Any]]:
    """Route each update to a section; keys that name none go to the conversation."""
    if not all(all(key.split(".")) for key in updates):
        raise ValidationError(
            "Context keys must be names or dotted paths of names.", session_id=session_id
        )
    if any(key.count(".") >= MAX_JSON_DEPTH for key in updates):
        raise ValidationError(
            f"A context key has more than {MAX_JSON_DEPTH} parts.",
            session_id=session_id,
            error_code="json_too_deep",
        )
    routed: dict[str, dict[str, Any]] = {}
    for key, value in expand_dotted(updates).items():
        if key in Context.SECTIONS:
            if not isinstance(value, dict):
                raise ValidationError(f"{key} must be an object.", session_id=session_id)
            routed.setdefault(key, {}).update(value)
        else:
            routed.setdefault(DEFAULT_SECTION, {})[key] = value
    for name, section in routed.items():
        # Dotted keys nest: "a.b.c" is three levels, so the depth is checked once expanded.
        storable_json(section, name, session_id=session_id)
    return routed


def update_context(
    session: Session,
    updates: dict[str, Any],
    *,
    pipeline: Pipeline,
    expected_version: int | None = None,
) -> ContextSnapshot:
    """Deep-merge ``updates`` (JSON merge patch; dotted keys allowed) and raise the version.

    Concurrent updates never lose a write: the session row is locked (which
    also re-checks that the session is writable), and the write is a
    compare-and-swap on the version.
    """
    if not isinstance(updates, dict):
        raise ValidationError("Context updates must be an object.", session_id=session.pk)
    updates = json_object(updates, "context", session_id=session.pk)
    routed = _by_section(updates, session.pk)
    for _ in range(MAX_ATTEMPTS):
        with transaction.atomic():
            lock_writable(session.pk)
            context, _ = Context.objects.get_or_create(session_id=session.pk)
            if expected_version is not None and context.version != expected_version:
                raise ContextConflictError(
                    f"Context is at version {context.version}, not {expected_version}.",
                    session_id=session.pk,
                    details={"version": context.version},
                )
            sections = {
                name: merge_patch(getattr(context, name), routed[name])
                if name in routed
                else getattr(context, name)
                for name in Context.SECTIONS
            }
            now = timezone.now()
            swapped = Context.objects.filter(session_id=session.pk, version=context.version).update(
                **sections, version=context.version + 1, updated_at=now
            )
        if swapped:
            snapshot = ContextSnapshot(**sections, version=context.version + 1, last_updated=now)
            pipeline.fire(
                LifecycleEvent.CONTEXT_UPDATED,
                session_id=str(session.pk),
                context=snapshot,
                changes=updates,
            )
            return snapshot
    raise StorageError("The context kept changing; try again.", session_id=session.pk)
