"""``SessionManager``: the public Python API, bound to one sandbox (tenant).

Every method is sync; its async twin has the same name prefixed with ``a``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet

from sessions_app import validation
from sessions_app.conf import app_settings
from sessions_app.events import EventFeed, Subscription
from sessions_app.exceptions import ValidationError
from sessions_app.handle import ConversationSession
from sessions_app.limits import MAX_AGE_DAYS, MAX_TTL_SECONDS
from sessions_app.metrics import SessionAnalytics
from sessions_app.models import Sandbox, Session, SessionStatus
from sessions_app.pipeline import Pipeline, get_default_pipeline
from sessions_app.pipeline.hooks import Hook
from sessions_app.services import analytics, export, health, lifecycle, optimize, sessions, ttl
from sessions_app.services.sandboxes import clean_sandbox_id, find_sandbox, get_or_create_sandbox
from sessions_app.services.selectors import (
    find_session,
    get_session_or_raise,
    parse_session_id,
    search,
)
from sessions_app.session_config import SessionConfig
from sessions_app.utils import grid
from sessions_app.utils.asyncutils import async_twin
from sessions_app.utils.keys import hash_key

HOUR = 3600
DAY = 24 * HOUR


def _seconds_of_hours(hours: Any, name: str, **error: Any) -> float:
    """A positive number of hours, no longer than the longest TTL, in seconds."""
    return validation.positive_number(hours, name, maximum=MAX_TTL_SECONDS / HOUR, **error) * HOUR


def _required_user(user: Any) -> Any:
    if validation.django_user(user) is None:
        raise ValidationError("user is required.")
    return user


class SessionManager:
    """Sessions of one sandbox: conversations, TTL sessions and grid paths.

    Two managers of different sandboxes never see each other's sessions,
    even for the same user id. Only creating a session creates its sandbox;
    every other method treats a sandbox that does not exist yet as empty.
    """

    def __init__(
        self,
        sandbox_id: str | None = None,
        *,
        default_ttl_hours: float | None = None,
        session_defaults: SessionConfig | dict[str, Any] | None = None,
        pipeline: Pipeline | None = None,
    ):
        """``default_ttl_hours`` is the lifetime of sessions created here without a TTL
        (else the sandbox's, else ``DEFAULT_TTL``); ``session_defaults`` is the
        ``SessionConfig`` a new session starts from."""
        self.sandbox_id = clean_sandbox_id(sandbox_id or app_settings.DEFAULT_SANDBOX)
        self.default_ttl_seconds = (
            _seconds_of_hours(default_ttl_hours, "default_ttl_hours")
            if default_ttl_hours is not None
            else None
        )
        self.session_defaults = SessionConfig.coerce(session_defaults)
        self.pipeline = pipeline if pipeline is not None else get_default_pipeline().copy()
        self._sandbox: Sandbox | None = None
        self._events: EventFeed | None = None
        # The async facade (``sessions_app.aio.SessionManager``) over this manager, if any.
        self.facade: Any = None

    def __repr__(self) -> str:
        return f"<SessionManager sandbox={self.sandbox_id!r}>"

    @property
    def sandbox(self) -> Sandbox | None:
        """The sandbox row, or ``None`` while no session was ever created in it."""
        if self._sandbox is None:
            self._sandbox = find_sandbox(self.sandbox_id)
        return self._sandbox

    def _sandbox_for_writing(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = get_or_create_sandbox(self.sandbox_id)
        return self._sandbox

    def _handle(self, session: Session, key: str | None = None) -> ConversationSession:
        if self._sandbox is not None:
            session.sandbox = self._sandbox  # the same row: the handle reads its slug for free
        return ConversationSession(session, self.pipeline, key)

    def _handles(self, found: QuerySet[Session], limit: Any) -> list[ConversationSession]:
        limit = validation.limit(limit)
        return [self._handle(s) for s in (found if limit is None else found[:limit])]

    def _find(self, session_id: Any) -> Session | None:
        return find_session(self.sandbox, session_id)

    def _all_sessions(self) -> QuerySet[Session]:
        """Every session of the sandbox, including deleted and expired ones."""
        return (
            Session.objects.filter(sandbox=self.sandbox) if self.sandbox else Session.objects.none()
        )

    # Conversations ----------------------------------------------------------

    def create_session(
        self,
        user_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        session_config: SessionConfig | dict[str, Any] | None = None,
        provider_config: dict[str, Any] | None = None,
        *,
        user: Any = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: float | None = None,
    ) -> ConversationSession:
        """Create a conversation; ``handle.session_key`` holds its secret key, once.

        ``session_config`` (a ``SessionConfig`` or a dict of its fields) is applied over
        the manager's ``session_defaults``.
        """
        config = self.session_defaults
        if session_config is not None:
            config = config.merge_with(SessionConfig.coerce(session_config))
        created = sessions.create_session(
            sandbox=self._sandbox_for_writing(),
            pipeline=self.pipeline,
            user_id=user_id,
            user=user,
            provider=provider,
            model=model,
            config=config,
            provider_config=provider_config,
            metadata=metadata,
            ttl_seconds=ttl_seconds if ttl_seconds is not None else self.default_ttl_seconds,
        )
        return self._handle(created.session, created.session_key)

    def get_session(self, session_id: Any) -> ConversationSession:
        """The live session with this id in this sandbox.

        Raises ``SessionNotFoundError`` for an unknown, deleted or expired id, or one of
        another sandbox; ``find_session`` returns ``None`` instead.
        """
        return self._handle(get_session_or_raise(self.sandbox, session_id))

    def find_session(self, session_id: Any) -> ConversationSession | None:
        """Like ``get_session``, but ``None`` when there is no such live session."""
        session = self._find(session_id)
        return self._handle(session) if session else None

    def get_user_sessions(
        self,
        user_id: Any,
        status: str | list[str] | None = None,
        limit: int | None = 50,
        since: datetime | str | None = None,
    ) -> list[ConversationSession]:
        """A user's sessions, newest first; ``user_id`` is the external id or a Django user."""
        if user_id is None:
            raise ValidationError("user_id is required.")
        found = search(self.sandbox, user_id=user_id, status=status, since=since)
        return self._handles(found, limit)

    def search_sessions(
        self,
        user_id: Any = None,
        provider: str | None = None,
        status: str | list[str] | None = None,
        tags: list[str] | str | None = None,
        limit: int | None = 50,
        *,
        model: str | None = None,
        query: str | None = None,
        since: datetime | str | None = None,
    ) -> list[ConversationSession]:
        """Sessions matching every filter given; ``tags`` must all be present."""
        found = search(
            self.sandbox,
            user_id=user_id,
            provider=provider,
            status=status,
            tags=tags,
            model=model,
            query=query,
            since=since,
        )
        return self._handles(found, limit)

    def delete_session(self, session_id: Any, hard: bool = False) -> bool:
        """Delete (soft by default: status ``deleted``, purged later). False if not found."""
        session = self._find(session_id)
        if session is None:
            return False
        sessions.delete_session(session, pipeline=self.pipeline, hard=hard)
        return True

    def end_user_session(self, user: Any, session_id: Any) -> bool:
        """Log ``user`` out of one of their sessions (e.g. a lost device). False if not theirs."""
        session = self._find(session_id)
        if session is None or session.user_id != _required_user(user).pk:
            return False
        sessions.delete_session(session, pipeline=self.pipeline, hard=True)
        return True

    def end_other_user_sessions(self, user: Any, current_session_key: str | None) -> int:
        """Log ``user`` out everywhere but the session of ``current_session_key``."""
        others = search(self.sandbox, user_id=_required_user(user))
        if current_session_key:
            others = others.exclude(key_hash=hash_key(current_session_key))
        return lifecycle.delete_in_batches(others, self.pipeline)

    def archive_session(self, session_id: Any) -> bool:
        """Make the session read-only. False if not found."""
        session = self._find(session_id)
        if session is None:
            return False
        sessions.archive_session(session, pipeline=self.pipeline)
        return True

    def cleanup_inactive_sessions(
        self, days: float = 30, status: str | list[str] | None = None
    ) -> int:
        """Soft-delete sessions idle for ``days`` (of ``status`` if given); returns the count."""
        days = validation.positive_number(days, "days", allow_zero=True, maximum=MAX_AGE_DAYS)
        candidates = lifecycle.inactive(search(self.sandbox, status=status), days)
        return lifecycle.soft_delete_in_batches(candidates, self.pipeline)

    def cleanup_archived_sessions(self, days: float = 90) -> int:
        """Soft-delete archived sessions with no activity for ``days``; returns the count."""
        return self.cleanup_inactive_sessions(days, status=SessionStatus.ARCHIVED)

    def cleanup_deleted_sessions(self, days: float = 365) -> int:
        """Purge sessions soft-deleted more than ``days`` ago, with their messages."""
        days = validation.positive_number(days, "days", allow_zero=True, maximum=MAX_AGE_DAYS)
        return self.purge_deleted_sessions(days * DAY)

    def purge_deleted_sessions(self, older_than_seconds: float | None = None) -> int:
        """Remove soft-deleted sessions for good, with their messages."""
        if older_than_seconds is not None:
            validation.positive_number(older_than_seconds, "older_than_seconds", allow_zero=True)
        return lifecycle.purge_deleted(self._all_sessions(), older_than_seconds)

    def get_analytics(
        self,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        user_id: Any = None,
    ) -> SessionAnalytics:
        return analytics.report(
            self._all_sessions(),
            sandbox_id=self.sandbox_id,
            start_date=start_date,
            end_date=end_date,
            user_id=user_id,
        )

    def export_sessions(self, user_id: Any = None, format: str = "json") -> str:
        """Every live session (of ``user_id``) as JSON documents or a CSV summary."""
        return export.export_sessions(search(self.sandbox, user_id=user_id), format)

    def health_check(self) -> dict[str, Any]:
        return {"sandbox_id": self.sandbox_id, **health.health_check()}

    def optimize_storage(self) -> dict[str, Any]:
        """Refresh the database's statistics of the app's tables (all sandboxes share them)."""
        return optimize.optimize_storage()

    def close(self) -> None:
        """Forget what this manager cached. Database connections stay Django's to manage."""
        self._sandbox = None

    def session_events(self) -> Subscription:
        """Lifecycle events of operations made through this manager, as they happen.

        ``async for event in manager.session_events()``: each has ``type``,
        ``session_id``, ``timestamp`` and, for messages, ``message_preview``.
        """
        if self._events is None:
            self._events = EventFeed(self.pipeline)
        return self._events.subscribe()

    def add_middleware(self, middleware: Any) -> None:
        """Run ``middleware`` on every message of this manager's sessions.

        Ours (``process(PipelineMessage)``), the documents' ``process_message(session_id,
        message, context)`` or the reference's ``process_incoming_message(session, message)``;
        anything else raises ``ConfigurationError``.
        """
        self.pipeline.add_middleware(middleware)

    def add_lifecycle_hook(self, event: Any, hook: Hook | None = None) -> None:
        """``add_lifecycle_hook(event, hook)``: call ``hook(event, session_id=..., **data)``
        after ``event`` happens here; ``add_lifecycle_hook(hook)``: register the
        ``on_<event>`` methods of a hook object (see ``ISessionLifecycleHook``).
        """
        if hook is None:
            self.pipeline.add_lifecycle_hook(event)
        else:
            self.pipeline.add_hook(event, hook)

    # TTL sessions -------------------------------------------------------------

    def allocate_session(
        self,
        user_id: str | None = None,
        ttl_hours: float | None = None,
        custom_metadata: dict[str, Any] | None = None,
        *,
        session_id: Any = None,
    ) -> str:
        """Create a TTL session and return its id.

        Given a ``session_id`` that is live here, touch and return it instead;
        an unknown id is never adopted: a fresh one is issued.
        """
        if session_id is not None and self.validate_session(session_id):
            return str(parse_session_id(session_id))
        ttl_seconds = self.default_ttl_seconds
        if ttl_hours is not None:
            ttl_seconds = _seconds_of_hours(ttl_hours, "ttl_hours")
        created = sessions.create_session(
            sandbox=self._sandbox_for_writing(),
            pipeline=self.pipeline,
            user_id=user_id,
            metadata=custom_metadata,
            ttl_seconds=ttl_seconds,
            conversational=False,
        )
        return str(created.session.pk)

    def validate_session(self, session_id: Any) -> bool:
        """True when the session exists here and has not expired; touches its activity."""
        return ttl.validate_session(self.sandbox, session_id)

    def get_session_info(self, session_id: Any) -> dict[str, Any] | None:
        """``session_id, sandbox_id, user_id, created_at, expires_at, last_accessed,
        custom_metadata`` of a live session, or ``None``."""
        return ttl.session_info(self.sandbox, session_id)

    def update_session_metadata(
        self, session_id: Any, custom_metadata: dict[str, Any], merge: bool = True
    ) -> bool:
        session = self._find(session_id)
        if session is None:
            return False
        ttl.update_metadata(session, custom_metadata, merge=merge)
        return True

    def extend_session_ttl(self, session_id: Any, additional_hours: float) -> bool:
        seconds = _seconds_of_hours(additional_hours, "additional_hours", session_id=session_id)
        session = self._find(session_id)
        if session is None:
            return False
        ttl.extend_ttl(session, seconds)
        return True

    def cleanup_expired_sessions(self) -> int:
        """Delete this sandbox's expired sessions in bounded batches; returns how many."""
        return lifecycle.delete_in_batches(lifecycle.expired(self._all_sessions()), self.pipeline)

    # Grid paths -------------------------------------------------------------

    def generate_artifact_key(self, session_id: Any, artifact_id: str) -> str:
        return grid.artifact_key(self.sandbox_id, session_id, artifact_id)

    def get_canonical_prefix(self, session_id: Any) -> str:
        return grid.session_prefix(self.sandbox_id, session_id)

    def get_session_prefix_pattern(self) -> str:
        return grid.sandbox_prefix(self.sandbox_id)

    def parse_grid_key(self, grid_key: str) -> dict[str, str | None] | None:
        return grid.parse_key(grid_key)

    acreate_session = async_twin(create_session)
    aget_session = async_twin(get_session)
    afind_session = async_twin(find_session)
    acleanup_archived_sessions = async_twin(cleanup_archived_sessions)
    acleanup_deleted_sessions = async_twin(cleanup_deleted_sessions)
    aoptimize_storage = async_twin(optimize_storage)
    aget_user_sessions = async_twin(get_user_sessions)
    asearch_sessions = async_twin(search_sessions)
    adelete_session = async_twin(delete_session)
    aarchive_session = async_twin(archive_session)
    acleanup_inactive_sessions = async_twin(cleanup_inactive_sessions)
    apurge_deleted_sessions = async_twin(purge_deleted_sessions)
    aget_analytics = async_twin(get_analytics)
    aexport_sessions = async_twin(export_sessions)
    ahealth_check = async_twin(health_check)
    aallocate_session = async_twin(allocate_session)
    avalidate_session = async_twin(validate_session)
    aget_session_info = async_twin(get_session_info)
    aupdate_session_metadata = async_twin(update_session_metadata)
    aextend_session_ttl = async_twin(extend_session_ttl)
    acleanup_expired_sessions = async_twin(cleanup_expired_sessions)
