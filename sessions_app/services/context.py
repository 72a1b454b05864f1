"""The versioned context of a session: dot-notation reads, merge-patch updates."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django.utils import timezone

from sessions_app.exceptions import (
    ContextConflictError,
    SessionError,
    StorageError,
    ValidationError,
)
from sessions_app.limits import MAX_JSON_DEPTH
from sessions_app.models import Context, Session
from sessions_app.pipeline import LifecycleEvent, Pipeline
from sessions_app.services.guards import lock_writable
from sessions_app.utils.dotpath import expand_dotted, get_path, merge_patch, set_path
from sessions_app.validation import json_object, storable_json

logger = logging.getLogger(__name__)

DEFAULT_SECTION = "conversation_context"
MAX_ATTEMPTS = 20


@runtime_checkable
class Archivable(Protocol):
    """A session handle, as ``SessionContext(session)`` takes it."""

    @property
    def session_id(self) -> Any: ...

    def archive(self) -> Any: ...


@contextmanager
def _archive_failure_logged(session_id: str) -> Iterator[None]:
    """A session that cannot be archived (already archived, gone) must not hide the error
    that made the block fail."""
    try:
        yield
    except SessionError as exc:
        logger.warning("Session %s was not archived after an error: %s", session_id, exc)


def _routed_path(path: str) -> str:
    """A path that names no section is in the conversation context."""
    if path.split(".", 1)[0] not in Context.SECTIONS:
        return f"{DEFAULT_SECTION}.{path}"
    return path


@dataclass
class SessionContext:
    """A session's context at one version; in-memory changes bump the version here, and
    ``session.update_context()`` is what stores them.

    ``SessionContext(session)`` on a session handle is instead the documents' context
    manager: ``with`` / ``async with`` it yields the session, and archives it when the
    block raises.
    """

    session_id: str
    user_context: dict[str, Any] = field(default_factory=dict)
    conversation_context: dict[str, Any] = field(default_factory=dict)
    provider_context: dict[str, Any] = field(default_factory=dict)
    system_context: dict[str, Any] = field(default_factory=dict)
    version: int = 1  # as the documents construct it; a stored context starts at 0
    last_updated: datetime = field(default_factory=timezone.now)

    if TYPE_CHECKING:  # the generated __init__, and the context-manager form

        @overload
        def __init__(self, session_id: Archivable) -> None: ...
        @overload
        def __init__(
            self,
            session_id: str,
            user_context: dict[str, Any] = ...,
            conversation_context: dict[str, Any] = ...,
            provider_context: dict[str, Any] = ...,
            system_context: dict[str, Any] = ...,
            version: int = ...,
            last_updated: datetime = ...,
        ) -> None: ...
        def __init__(self, *args: Any, **kwargs: Any) -> None: ...

    def __post_init__(self) -> None:
        self._session: Archivable | None = None
        if isinstance(self.session_id, Archivable):
            self._session = self.session_id
            self.session_id = str(self._session.session_id)

    @classmethod
    def of(cls, context: Context) -> SessionContext:
        return cls(
            str(context.session_id),
            **context.sections(),
            version=context.version,
            last_updated=context.updated_at,
        )

    def get(self, key: str, default: Any = None) -> Any:
        """Dot-notation read: ``get("user_context.preferences.language")``.

        A key that names no section reads the conversation context, where
        ``update_context`` put it.
        """
        return get_path(self.sections(), _routed_path(key), default)

    def set(self, key: str, value: Any) -> None:
        """Dot-notation write of one value (routed as ``get`` reads it), replacing what was
        there."""
        checked_updates({key: value}, self.session_id)  # the checks of an update
        section, _, rest = _routed_path(key).partition(".")
        if rest:
            set_path(getattr(self, section), rest, value)
        else:
            setattr(self, section, value)
        self._changed()

    def update(self, updates: dict[str, Any]) -> None:
        """Merge-patch ``updates`` as ``session.update_context`` does (dotted keys; keys
        naming no section go to the conversation context)."""
        for name, patch in checked_updates(updates, self.session_id)[1].items():
            setattr(self, name, merge_patch(getattr(self, name), patch))
        self._changed()

    def merge(self, other_context: SessionContext) -> None:
        """Merge-patch each of ``other_context``'s sections over ours."""
        for name, section in other_context.sections().items():
            setattr(self, name, merge_patch(getattr(self, name), section))
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self.last_updated = timezone.now()

    def sections(self) -> dict[str, dict[str, Any]]:
        return {name: getattr(self, name) for name in Context.SECTIONS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            **self.sections(),
            "version": self.version,
            "last_updated": self.last_updated,
        }

    def _handle(self) -> Archivable:
        if self._session is None:
            raise TypeError("Only SessionContext(session) is a context manager.")
        return self._session

    def __enter__(self) -> Any:
        return self._handle()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None:
            archive = self._handle().archive
            with _archive_failure_logged(self.session_id):
                if inspect.iscoroutinefunction(archive):
                    async_to_sync(archive)()
                else:
                    archive()

    async def __aenter__(self) -> Any:
        return self._handle()

    async def __aexit__(
        self, exc_type: Any, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            archive = self._handle().archive
            with _archive_failure_logged(self.session_id):
                if inspect.iscoroutinefunction(archive):
                    await archive()
                else:
                    await sync_to_async(archive)()


# The name this dataclass had before the documents' name was adopted.
ContextSnapshot = SessionContext


def get_context(session: Session) -> SessionContext:
    """The current context; a session never updated reads as empty at version 0 (no write)."""
    context = Context.objects.filter(session_id=session.pk).first()
    if context is None:
        context = Context(session_id=session.pk, updated_at=session.created_at)
    return SessionContext.of(context)


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


def checked_updates(
    updates: Any, session_id: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The updates as they will read back, and by the section each goes to."""
    if not isinstance(updates, dict):
        raise ValidationError("Context updates must be an object.", session_id=session_id)
    stored = json_object(updates, "context", session_id=session_id)
    return stored, _by_section(stored, session_id)


def update_context(
    session: Session,
    updates: dict[str, Any],
    *,
    pipeline: Pipeline,
    expected_version: int | None = None,
) -> SessionContext:
    """Deep-merge ``updates`` (JSON merge patch; dotted keys allowed) and raise the version.

    Concurrent updates never lose a write: the session row is locked (which
    also re-checks that the session is writable), and the write is a
    compare-and-swap on the version.
    """
    updates, routed = checked_updates(updates, session.pk)
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
            snapshot = SessionContext(
                str(session.pk), **sections, version=context.version + 1, last_updated=now
            )
            pipeline.fire(
                LifecycleEvent.CONTEXT_UPDATED,
                session_id=str(session.pk),
                context=snapshot,
                changes=updates,
            )
            return snapshot
    raise StorageError("The context kept changing; try again.", session_id=session.pk)
